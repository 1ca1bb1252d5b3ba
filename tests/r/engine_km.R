# Reference values for weighted Kaplan–Meier and restricted mean survival, from R's survfit.
#
# Usage: Rscript engine_km.R DATA_CSV OUT_DIR TAUS
# DATA_CSV has time, event, w (non-integer weights), wi (whole-number weights). For each
# weighting (none, integer, fractional) and conf.type (log, log-log, plain) writes the curve
# (curve.csv: weighting, conf_type, time, n_risk, n_event, surv, std_err on the log scale,
# ci_lower, ci_upper), the median with its CI (median.csv) and, for each tau of TAUS
# (comma-separated), print(fit, rmean = tau)'s rmean and se(rmean) (rmst.csv).
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); out_dir <- args[2]
taus <- as.numeric(strsplit(args[3], ",")[[1]])
weightings <- list(none = NULL, integer = d$wi, fractional = d$w)
curves <- list(); medians <- list(); rmsts <- list()
for (wname in names(weightings)) for (ct in c("log", "log-log", "plain")) {
  call <- list(formula = Surv(time, event) ~ 1, data = d, conf.type = ct)
  if (!is.null(weightings[[wname]])) call$weights <- weightings[[wname]]
  fit <- do.call(survfit, call)
  # std.err is of log S unless the variance is robust (logse FALSE: the SE of S).
  se_log <- if (isTRUE(fit$logse)) fit$std.err else fit$std.err / fit$surv
  curves[[length(curves) + 1]] <- data.frame(weighting = wname, conf_type = ct, time = fit$time,
    n_risk = fit$n.risk, n_event = fit$n.event, surv = fit$surv, std_err = se_log,
    ci_lower = fit$lower, ci_upper = fit$upper)
  q <- quantile(fit, probs = 0.5)
  medians[[length(medians) + 1]] <- data.frame(weighting = wname, conf_type = ct,
    median = q$quantile, ci_lower = q$lower, ci_upper = q$upper)
  for (tau in taus) {
    m <- survival:::survmean(fit, rmean = tau)$matrix
    rmsts[[length(rmsts) + 1]] <- data.frame(weighting = wname, conf_type = ct, tau = tau,
      rmean = m[["rmean"]], se = m[["se(rmean)"]])
  }
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
write.csv(do.call(rbind, curves), file.path(out_dir, "curve.csv"), row.names = FALSE)
write.csv(do.call(rbind, medians), file.path(out_dir, "median.csv"), row.names = FALSE)
write.csv(do.call(rbind, rmsts), file.path(out_dir, "rmst.csv"), row.names = FALSE)
