# Reference values of glm(y ~ x, family = binomial) and predict(se.fit = TRUE) per outcome, and
# the odds ratio per interquartile range of x (IQR, quantile type 7).
# With a regimen column, also glm(y ~ x + factor(regimen), family = binomial) (regimens absent
# from an outcome's patients dropped, as droplevels): the exposure's adjusted odds ratio.
# Usage: Rscript exposure_reference.R DATA_CSV OUT_DIR PREDICT_AT
# (DATA_CSV: outcome, x, y and optionally regimen)
args <- commandArgs(trailingOnly = TRUE)
er <- read.csv(args[1], stringsAsFactors = FALSE); out_dir <- args[2]
predict_at <- as.numeric(strsplit(args[3], ",")[[1]])
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
models <- list(); preds <- list(); z <- qnorm(0.975)
for (o in unique(er$outcome)) {
  fit <- glm(y ~ x, family = binomial, data = er[er$outcome == o, ])
  s <- summary(fit)$coefficients
  iqr <- IQR(er$x[er$outcome == o])
  if ("regimen" %in% names(er)) {
    part <- er[er$outcome == o, ]
    part$regimen <- droplevels(factor(part$regimen))
    a <- summary(glm(y ~ x + regimen, family = binomial, data = part))$coefficients
    adjusted <- data.frame(odds_ratio_adjusted = exp(a[2, 1]),
                           adjusted_ci_lower = exp(a[2, 1] - z * a[2, 2]),
                           adjusted_ci_upper = exp(a[2, 1] + z * a[2, 2]), p_adjusted = a[2, 4])
  } else {
    adjusted <- data.frame(odds_ratio_adjusted = NA)
  }
  models[[o]] <- data.frame(outcome = o, intercept = s[1, 1], slope = s[2, 1], odds_ratio = exp(s[2, 1]),
                            ci_lower = exp(s[2, 1] - z * s[2, 2]), ci_upper = exp(s[2, 1] + z * s[2, 2]), p = s[2, 4],
                            iqr = iqr, odds_ratio_iqr = exp(s[2, 1] * iqr),
                            or_iqr_ci_lower = exp((s[2, 1] - z * s[2, 2]) * iqr),
                            or_iqr_ci_upper = exp((s[2, 1] + z * s[2, 2]) * iqr), adjusted)
  p <- predict(fit, newdata = data.frame(x = predict_at), se.fit = TRUE)
  preds[[o]] <- data.frame(outcome = o, at = predict_at, probability = plogis(p$fit),
                           ci_lower = plogis(p$fit - z * p$se.fit), ci_upper = plogis(p$fit + z * p$se.fit))
}
write.csv(do.call(rbind, models), file.path(out_dir, "exposure_response.csv"), row.names = FALSE)
write.csv(do.call(rbind, preds), file.path(out_dir, "exposure_predictions.csv"), row.names = FALSE)
