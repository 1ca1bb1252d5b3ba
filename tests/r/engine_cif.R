# Reference Aalen–Johansen cumulative incidence, from R's survfit on competing-risks data.
#
# Usage: Rscript engine_cif.R DATA_CSV OUT_CSV
# DATA_CSV has time, status (0 censored, 1, 2 causes), w (fractional weights). Writes one row
# per weighting (none, fractional), conf.type (log, log-log, plain), cause and time:
# survfit(Surv(time, factor(status)) ~ 1)'s pstate, std.err, lower and upper.
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
rows <- list()
for (wname in c("none", "fractional")) for (ct in c("log", "log-log", "plain")) {
  call <- list(formula = Surv(time, factor(status)) ~ 1, data = d, conf.type = ct)
  if (wname == "fractional") call$weights <- d$w
  fit <- do.call(survfit, call)
  for (j in seq_along(fit$states)[-1]) {
    rows[[length(rows) + 1]] <- data.frame(weighting = wname, conf_type = ct,
      cause = as.integer(fit$states[j]), time = fit$time, cif = fit$pstate[, j],
      std_err = fit$std.err[, j], ci_lower = fit$lower[, j], ci_upper = fit$upper[, j])
  }
}
write.csv(do.call(rbind, rows), args[2], row.names = FALSE)
