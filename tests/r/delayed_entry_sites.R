# Site-stratified log-rank tests and Cox models with delayed entry (rwe.sites), with R's
# survival package.
#
# Usage: Rscript delayed_entry_sites.R ADAM_DIR OUT_DIR SUBGROUPS COVARIATES [TIES]
# Reads adsl.csv and adtte.csv (several sites, ADTTE with `entry` in months) and writes, for
# all patients and each endpoint:
# - logrank_stratified.csv: per subgroup flag, the site-stratified log-rank on (entry, exit]
#   risk sets: the score test of the exact partial likelihood of
#   coxph(Surv(entry, aval, event) ~ g + strata(site), ties = "exact"), computed as clogit does
#   (one stratum per site and event time holding its risk set; coxph's agexact enumerates the
#   subsets of each risk set and does not finish with many tied deaths); survdiff refuses
#   counting-process data;
# - cox_stratified.csv: coxph(Surv(entry, aval, event) ~ covariates + strata(site)) per
#   covariate (univariable) and all together (multivariable), complete cases: HR, CI, p.
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
adam_dir <- args[1]; out_dir <- args[2]
split <- function(x) if (is.na(x) || x == "") character(0) else strsplit(x, ",")[[1]]
subgroups <- split(args[3]); covariates <- split(args[4])
ties <- if (length(args) >= 5) args[5] else "efron"

adsl <- read.csv(file.path(adam_dir, "adsl.csv"), stringsAsFactors = FALSE)
adtte <- read.csv(file.path(adam_dir, "adtte.csv"), stringsAsFactors = FALSE)

exact_logrank <- function(entry, time, event, g, site) {
  sets <- list()
  for (s in unique(site)) {
    mine <- site == s
    times <- sort(unique(time[mine & event == 1]))
    for (t in times) {
      at <- mine & entry < t & time >= t
      sets[[length(sets) + 1]] <- data.frame(k = paste(s, t), g = g[at],
        case = as.integer(time[at] == t & event[at] == 1))
    }
  }
  x <- do.call(rbind, sets)
  coxph(Surv(rep(1, nrow(x)), case) ~ g + strata(k), data = x, ties = "exact",
        control = coxph.control(iter.max = 0))$score
}

lr <- list(); cx <- list()
for (ep in c("PFS", "OS")) {
  tte <- adtte[adtte$paramcd == ep, c("site", "patient_id", "aval", "cnsr", "entry")]
  d <- merge(adsl, tte, by = c("site", "patient_id"))
  d$event <- 1 - d$cnsr
  for (v in subgroups) {
    x <- d[!is.na(d[[v]]), ]
    t <- exact_logrank(x$entry, x$aval, x$event, factor(x[[v]]), x$site)
    lr[[length(lr) + 1]] <- data.frame(analysis_set = "all", endpoint = ep, variable = v, chisq = t,
      df = 1, p = pchisq(t, 1, lower.tail = FALSE))
  }
  models <- c(setNames(lapply(covariates, function(c) c), rep("univariable", length(covariates))),
              list(multivariable = covariates))
  for (k in seq_along(models)) {
    wanted <- models[[k]]
    x <- d[complete.cases(d[, wanted, drop = FALSE]), ]
    f <- coxph(as.formula(paste("Surv(entry, aval, event) ~", paste(wanted, collapse = "+"), "+ strata(site)")),
               data = x, ties = ties)
    s <- summary(f)
    for (c in wanted) cx[[length(cx) + 1]] <- data.frame(analysis_set = "all", endpoint = ep,
      model = names(models)[k], term = c, hr = s$conf.int[c, 1], ci_lower = s$conf.int[c, 3],
      ci_upper = s$conf.int[c, 4], p = s$coefficients[c, "Pr(>|z|)"], n = nrow(x), events = sum(x$event))
  }
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
write.csv(do.call(rbind, lr), file.path(out_dir, "logrank_stratified.csv"), row.names = FALSE)
write.csv(do.call(rbind, cx), file.path(out_dir, "cox_stratified.csv"), row.names = FALSE)
