# The survival and response analyses of rwe, written as an R user would, for `make bench`.
#
# Usage: Rscript bench_survival.R ADAM_DIR OUT_DIR CONF_TYPE CONF_LEVEL MIN_REGIMEN_N \
#                SUBGROUPS COVARIATES LANDMARKS        (lists comma-separated)
#        Rscript bench_survival.R --read-raw SITE_DIR  (time read.csv of the raw extract only)
# Reads rwe's adsl.csv and adtte.csv (so both sides analyse the same derived data) and, per
# analysis set (all + each regimen with more than MIN_REGIMEN_N patients) and endpoint:
# survfit per subgroup level with quantile() medians and summary(times = landmarks), reverse-KM
# follow-up, survdiff per subgroup flag, coxph (Efron) univariable and multivariable with
# cox.zph and concordance; then binom.test ORR/CBR per level and fisher.test per flag.
# Prints seconds per step as `step=seconds` lines; writes the estimates to OUT_DIR.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
seconds <- function(expr) unname(system.time(expr)[["elapsed"]])

if (args[1] == "--read-raw") {
  files <- list.files(args[2], pattern = "\\.csv$", full.names = TRUE)
  t <- seconds(for (f in files) read.csv(f, stringsAsFactors = FALSE))
  cat(sprintf("read_raw=%.3f\n", t))
  quit(save = "no")
}

adam_dir <- args[1]; out_dir <- args[2]; conf_type <- args[3]
conf_level <- as.numeric(args[4]); min_regimen_n <- as.integer(args[5])
split <- function(x) if (is.na(x) || x == "") character(0) else strsplit(x, ",")[[1]]
subgroups <- split(args[6]); covariates <- split(args[7]); landmarks <- as.numeric(split(args[8]))

t_read <- seconds({
  adsl <- read.csv(file.path(adam_dir, "adsl.csv"), stringsAsFactors = FALSE)
  adtte <- read.csv(file.path(adam_dir, "adtte.csv"), stringsAsFactors = FALSE)
})
counts <- table(adsl$regimen)
regimens <- names(counts)[counts > min_regimen_n]
sets <- c(list(all = adsl), setNames(lapply(regimens, function(r) adsl[adsl$regimen == r, ]), regimens))
levels_of <- function(d, flags) {
  out <- list(list("all", "all", d))
  for (v in flags) for (l in 0:1) out[[length(out) + 1]] <- list(v, as.character(l), d[d[[v]] %in% l, ])
  out
}
rows <- function(lst) do.call(rbind, lst)

km <- list(); lm <- list(); fu <- list(); lr <- list(); cx <- list()
t_survival <- seconds(for (set in names(sets)) for (ep in c("PFS", "OS")) {
  d <- merge(sets[[set]], adtte[adtte$paramcd == ep, c("site", "patient_id", "aval", "cnsr")])
  d$event <- 1 - d$cnsr
  for (g in levels_of(d, subgroups)) {
    x <- g[[3]]
    if (nrow(x) == 0) next
    fit <- survfit(Surv(aval, event) ~ 1, data = x, conf.type = conf_type, conf.int = conf_level)
    q <- quantile(fit, probs = 0.5)
    km[[length(km) + 1]] <- data.frame(analysis_set = set, endpoint = ep, variable = g[[1]], level = g[[2]],
      n = nrow(x), events = sum(x$event), median = q$quantile, ci_lower = q$lower, ci_upper = q$upper)
    within <- landmarks[landmarks <= max(x$aval)]  # R stops on a landmark after the last time
    if (length(within) == 0) next
    s <- summary(fit, times = within)
    lm[[length(lm) + 1]] <- data.frame(analysis_set = set, endpoint = ep, variable = g[[1]], level = g[[2]],
      month = s$time, n_risk = s$n.risk, surv = s$surv, ci_lower = s$lower, ci_upper = s$upper)
  }
  q <- quantile(survfit(Surv(aval, 1 - event) ~ 1, data = d, conf.type = conf_type, conf.int = conf_level), 0.5)
  fu[[length(fu) + 1]] <- data.frame(analysis_set = set, endpoint = ep, median_followup = q$quantile,
    ci_lower = q$lower, ci_upper = q$upper)
  for (v in subgroups) {
    x <- d[!is.na(d[[v]]), ]
    if (length(unique(x[[v]])) < 2) next
    t <- survdiff(Surv(aval, event) ~ x[[v]], data = x)
    lr[[length(lr) + 1]] <- data.frame(analysis_set = set, endpoint = ep, variable = v, chisq = t$chisq,
      df = length(t$n) - 1, p = pchisq(t$chisq, length(t$n) - 1, lower.tail = FALSE))
  }
  models <- c(setNames(as.list(covariates), rep("univariable", length(covariates))), list(multivariable = covariates))
  for (k in seq_along(models)) {
    x <- d[complete.cases(d[, models[[k]], drop = FALSE]), ]
    usable <- Filter(function(c) length(unique(x[[c]])) > 1, models[[k]])
    if (length(usable) == 0) next
    fit <- coxph(reformulate(usable, "Surv(aval, event)"), data = x, ties = "efron")
    s <- summary(fit, conf.int = conf_level)
    zph <- cox.zph(fit, transform = "km")
    cx[[length(cx) + 1]] <- data.frame(analysis_set = set, endpoint = ep, model = names(models)[k], term = usable,
      hr = s$conf.int[, 1], ci_lower = s$conf.int[, 3], ci_upper = s$conf.int[, 4], p = s$coefficients[, 5],
      n = fit$n, events = fit$nevent, concordance = fit$concordance[["concordance"]],
      zph_p = zph$table[usable, "p"], row.names = NULL)
  }
})

resp <- list(); tests <- list()
cats <- c("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")
flags <- setdiff(subgroups, "responder")  # defined by the response itself
t_response <- seconds(for (set in names(sets)) {
  d <- sets[[set]]
  d <- d[d$best_response %in% cats, ]
  d$orr <- d$best_response %in% cats[1:4]; d$cbr <- d$best_response %in% cats[1:5]
  for (g in levels_of(d, flags)) for (m in c("orr", "cbr")) {
    x <- g[[3]]
    if (nrow(x) == 0) next
    b <- binom.test(sum(x[[m]]), nrow(x), conf.level = conf_level)
    resp[[length(resp) + 1]] <- data.frame(analysis_set = set, variable = g[[1]], level = g[[2]], measure = m,
      n_evaluable = nrow(x), rate = b$estimate, ci_lower = b$conf.int[1], ci_upper = b$conf.int[2], row.names = NULL)
  }
  for (v in flags) for (m in c("orr", "cbr")) {
    x <- d[!is.na(d[[v]]), ]
    if (length(unique(x[[v]])) < 2) next
    f <- fisher.test(table(factor(x[[v]], 1:0), factor(x[[m]], c(TRUE, FALSE))))
    tests[[length(tests) + 1]] <- data.frame(analysis_set = set, variable = v, measure = m,
      odds_ratio = f$estimate, p = f$p.value, row.names = NULL)
  }
})

dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
out <- list(km_medians = km, km_landmarks = lm, followup = fu, logrank = lr, cox = cx, response = resp,
            response_tests = tests)
for (name in names(out)) write.csv(rows(out[[name]]), file.path(out_dir, paste0(name, ".csv")), row.names = FALSE)
cat(sprintf("read_adam=%.3f\nsurvival=%.3f\nresponse=%.3f\n", t_read, t_survival, t_response))
cat(sprintf("versions=R %s.%s, survival %s\n", R.version$major, R.version$minor, packageVersion("survival")))
