# One metafor fit as rwe.meta reports it: rma(yi, vi, method, test), predict() and confint().
# Sourced by meta_reference.R and sites_reference.R.
#
# confint() is asked for its Q-profile roots to 1e-12 (its default uniroot tol is
# .Machine$double.eps^0.25, about 1.2e-4 in tau2); a bound confint marks with "<" or ">" (the
# empty set, or beyond its search limit tau2.max) is NA, as rwe reports it.
meta_fit <- function(yi, vi, method, test, conf_level) {
  fit <- rma(yi = yi, vi = vi, method = method, test = test, level = 100 * conf_level)
  pred <- predict(fit)  # a fixed-effect model has no prediction interval (no pi.lb)
  if (is.null(pred$pi.lb)) pred$pi.lb <- pred$pi.ub <- NA
  row <- data.frame(
    k = fit$k, estimate = as.numeric(fit$beta), se = fit$se, ci_lower = fit$ci.lb, ci_upper = fit$ci.ub,
    z = fit$zval, p = fit$pval, df = if (test == "knha") fit$ddf else NA, pi_lower = pred$pi.lb,
    pi_upper = pred$pi.ub, tau2 = fit$tau2, tau = sqrt(fit$tau2), q = fit$QE, q_p = fit$QEp, i2 = fit$I2,
    h2 = fit$H2, tau2_ci_lower = NA, tau2_ci_upper = NA, tau_ci_lower = NA, tau_ci_upper = NA,
    i2_ci_lower = NA, i2_ci_upper = NA, h2_ci_lower = NA, h2_ci_upper = NA)
  if (method != "FE" && fit$k > 1) {
    ci <- confint(fit, control = list(tol = 1e-12))
    rand <- ci$random
    for (q in c("tau2", "tau", "i2", "h2")) {
      name <- c(tau2 = "tau^2", tau = "tau", i2 = "I^2(%)", h2 = "H^2")[[q]]
      if (ci$lb.sign == "") row[[paste0(q, "_ci_lower")]] <- rand[name, "ci.lb"]
      if (ci$ub.sign == "") row[[paste0(q, "_ci_upper")]] <- rand[name, "ci.ub"]
    }
  }
  row
}
