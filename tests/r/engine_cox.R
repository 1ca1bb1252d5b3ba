# Reference values for rwe.survival.cox_fit's keyword arguments, computed with R's coxph.
#
# Usage: Rscript engine_cox.R DATA_DIR OUT_DIR
# DATA_DIR holds specs.csv (one model per row: name, data, start, weights, ties, robust,
# cluster, strata) and the data sets it names (<data>.csv with tstart, tstop, event, x1, x2, w,
# id, strat). Writes coef.csv (name, term, coef, se, se_naive, hr, ci_lower, ci_upper, p) and
# tests.csv (name, statistic, term, value, df, p: lr, wald, score, robust_score, concordance,
# zph).
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
data_dir <- args[1]; out_dir <- args[2]
specs <- read.csv(file.path(data_dir, "specs.csv"), stringsAsFactors = FALSE)
coefs <- list(); tests <- list()
for (i in seq_len(nrow(specs))) {
  s <- specs[i, ]
  d <- read.csv(file.path(data_dir, paste0(s$data, ".csv")))
  lhs <- if (s$start == 1) "Surv(tstart, tstop, event)" else "Surv(tstop, event)"
  rhs <- "x1 + x2"
  if (s$strata == 1) rhs <- paste(rhs, "+ strata(strat)")
  if (s$cluster == 1) rhs <- paste(rhs, "+ cluster(id)")
  call <- list(formula = as.formula(paste(lhs, "~", rhs)), data = d, ties = s$ties)
  if (s$weights == 1) call$weights <- d$w
  if (!is.na(as.logical(s$robust))) call$robust <- as.logical(s$robust)
  fit <- do.call(coxph, call)
  sm <- summary(fit)
  co <- sm$coefficients
  robust <- "robust se" %in% colnames(co)
  coefs[[i]] <- data.frame(name = s$name, term = rownames(co), coef = co[, "coef"],
    se = if (robust) co[, "robust se"] else co[, "se(coef)"],
    se_naive = if (robust) co[, "se(coef)"] else NA,
    hr = sm$conf.int[, "exp(coef)"], ci_lower = sm$conf.int[, "lower .95"],
    ci_upper = sm$conf.int[, "upper .95"], p = co[, "Pr(>|z|)"])
  # Unrounded (summary's waldtest is rounded for print): the tests as summary.coxph forms them.
  df <- sum(!is.na(coef(fit)))
  value <- c(lr = 2 * diff(fit$loglik), wald = fit$wald.test, score = fit$score,
             concordance = fit$concordance[["concordance"]])
  if (robust) value <- c(value, robust_score = fit$rscore)
  tests[[length(tests) + 1]] <- data.frame(name = s$name, statistic = names(value), term = "",
    value = value, df = ifelse(names(value) == "concordance", NA, df),
    p = ifelse(names(value) == "concordance", NA, pchisq(value, df, lower.tail = FALSE)))
  z <- cox.zph(fit, transform = "km")$table
  tests[[length(tests) + 1]] <- data.frame(name = s$name, statistic = "zph", term = rownames(z),
    value = z[, "chisq"], df = z[, "df"], p = z[, "p"])
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
write.csv(do.call(rbind, coefs), file.path(out_dir, "coef.csv"), row.names = FALSE)
write.csv(do.call(rbind, tests), file.path(out_dir, "tests.csv"), row.names = FALSE)
