# Reference values for the response tables with R's binom.test and fisher.test.
# Usage: Rscript response_reference.R ADSL_CSV OUT_DIR MIN_REGIMEN_N SUBGROUPS CONF_LEVEL
args <- commandArgs(trailingOnly = TRUE)
adsl <- read.csv(args[1], stringsAsFactors = FALSE)
out_dir <- args[2]; min_regimen_n <- as.integer(args[3])
tested <- strsplit(args[4], ",")[[1]]; conf_level <- as.numeric(args[5])
circular <- "responder"  # defined by the response: no rows in response.csv, NA tests with a note
subgroups <- setdiff(tested, circular)
cats <- c("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")
counts <- sort(table(adsl$regimen), decreasing = TRUE)
regimens <- names(counts)[counts > min_regimen_n]
sets <- c(list(all = adsl), setNames(lapply(regimens, function(r) adsl[adsl$regimen == r, ]), regimens))
resp <- list(); tests <- list()
exact <- function(x, n) if (n == 0) c(NA, NA) else binom.test(x, n, conf.level = conf_level)$conf.int[1:2]
for (set in names(sets)) {
  d <- sets[[set]]
  ev <- d[d$best_response %in% cats, ]
  groups <- list(list("all", "all", d))
  for (v in subgroups) for (l in 0:1) groups[[length(groups) + 1]] <- list(v, as.character(l), d[!is.na(d[[v]]) & d[[v]] == l, ])
  for (g in groups) {
    x <- g[[3]]; e <- x$best_response[x$best_response %in% cats]; n <- length(e)
    orr <- sum(e %in% cats[1:4]); cbr <- sum(e %in% cats[1:5])
    row <- data.frame(analysis_set = set, variable = g[[1]], level = g[[2]], n_evaluable = n)
    for (c in cats) row[[c]] <- sum(e == c)
    row$NE <- sum(x$best_response %in% "NE")
    ci <- exact(orr, n); row$orr <- if (n) orr / n else NA; row$orr_ci_lower <- ci[1]; row$orr_ci_upper <- ci[2]
    ci <- exact(cbr, n); row$cbr <- if (n) cbr / n else NA; row$cbr_ci_lower <- ci[1]; row$cbr_ci_upper <- ci[2]
    row$n_not_evaluable <- nrow(x) - n
    resp[[length(resp) + 1]] <- row
  }
  for (v in intersect(tested, names(d))) for (m in c("orr", "cbr")) {
    k <- ev[!is.na(ev[[v]]), ]
    yes <- k$best_response %in% cats[1:(if (m == "orr") 4 else 5)]
    f <- k[[v]]
    n1 <- sum(f == 1); n0 <- sum(f == 0)
    res <- c(NA, NA, NA, NA, NA, NA)
    if (n1 > 0 && n0 > 0 && !(v %in% circular)) {
      tab <- matrix(c(sum(yes[f == 1]), sum(yes[f == 0]), sum(!yes[f == 1]), sum(!yes[f == 0])), 2)
      ft <- fisher.test(tab, conf.level = conf_level)
      res <- c(sum(yes[f == 1]) / n1, sum(yes[f == 0]) / n0, ft$estimate, ft$p.value, ft$conf.int[1:2])
    }
    tests[[length(tests) + 1]] <- data.frame(analysis_set = set, variable = v, measure = m, rate_1 = res[1],
                                             rate_0 = res[2], odds_ratio = res[3], p = res[4],
                                             or_ci_lower = res[5], or_ci_upper = res[6])
  }
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
write.csv(do.call(rbind, resp), file.path(out_dir, "response.csv"), row.names = FALSE)
write.csv(do.call(rbind, tests), file.path(out_dir, "response_tests.csv"), row.names = FALSE)
