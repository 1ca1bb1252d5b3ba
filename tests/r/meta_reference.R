# Reference values for rwe.meta with R's metafor::rma (test = "z", default I^2 definition).
# Usage: Rscript meta_reference.R CASES_CSV OUT_CSV CONF_LEVEL
# CASES_CSV: case, yi, vi (one row per site). OUT_CSV: one row per case and method.
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
cases <- read.csv(args[1], stringsAsFactors = FALSE)
conf_level <- as.numeric(args[3])
rows <- list()
for (case in unique(cases$case)) {
  d <- cases[cases$case == case, ]
  for (method in c("FE", "DL", "REML")) {
    fit <- rma(yi = d$yi, vi = d$vi, method = method, level = 100 * conf_level)
    rows[[length(rows) + 1]] <- data.frame(
      case = case, method = method, k = fit$k, estimate = as.numeric(fit$beta), se = fit$se,
      ci_lower = fit$ci.lb, ci_upper = fit$ci.ub, z = fit$zval, p = fit$pval, tau2 = fit$tau2,
      q = fit$QE, q_p = fit$QEp, i2 = fit$I2, h2 = fit$H2)
  }
}
write.csv(do.call(rbind, rows), args[2], row.names = FALSE)
