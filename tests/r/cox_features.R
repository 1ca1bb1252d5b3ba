# Reference values for the Cox features of rwe.cox_residuals, rwe.cox_predict and
# rwe.survfit_extras, computed with R's survival package: residuals.coxph (every type),
# survfit.coxph for covariate profiles and its direct-adjusted average over a cohort,
# survfit(ctype = 1, 2) cumulative hazards, survdiff(rho =), concordance() with its variance and
# pair counts, and summary(survfit, times, extend = TRUE).
#
# Usage: Rscript cox_features.R OUT_DIR [DEMO_CSV]
# The cases are R's own data sets (lung, ovarian, heart), written to OUT_DIR/<case>_data.csv so
# that rwe reads exactly the rows R fitted, and, when given, the demo cohort DEMO_CSV (columns
# time, status, group and the covariates named in its header after "cov_").
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
out_dir <- args[1]
demo_csv <- if (length(args) >= 2) args[2] else NA
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
put <- function(x, name) write.csv(x, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE)

# ------------------------------------------------------------------ the cases
lung2 <- na.omit(lung[, c("time", "status", "age", "sex", "ph.ecog")])
lung2$status <- lung2$status - 1
lung2$sex <- lung2$sex - 1  # 0/1
ovarian2 <- ovarian[, c("futime", "fustat", "age", "rx", "resid.ds")]
names(ovarian2)[1:2] <- c("time", "status")
ovarian2$rx <- ovarian2$rx - 1
ovarian2$w <- 0.5 + (seq_len(nrow(ovarian2)) %% 3) / 2  # fractional case weights
heart2 <- heart[, c("start", "stop", "event", "age", "surgery", "transplant", "id")]
names(heart2)[2:3] <- c("time", "status")
heart2$transplant <- as.integer(as.character(heart2$transplant))

cases <- list(
  lung_efron = list(data = lung2, covs = c("age", "sex", "ph.ecog"), ties = "efron"),
  lung_breslow = list(data = lung2, covs = c("age", "sex", "ph.ecog"), ties = "breslow"),
  lung_strata = list(data = lung2, covs = c("age", "ph.ecog"), ties = "efron", strata = "sex"),
  ovarian_weighted = list(data = ovarian2, covs = c("rx", "age"), ties = "efron", weights = "w"),
  ovarian_breslow_strata = list(data = ovarian2, covs = c("rx", "age"), ties = "breslow",
                                weights = "w", strata = "resid.ds"),
  heart_counting = list(data = heart2, covs = c("transplant", "age", "surgery"), ties = "efron",
                        start = "start", cluster = "id"),
  heart_breslow = list(data = heart2, covs = c("transplant", "age", "surgery"), ties = "breslow",
                       start = "start")
)
if (!is.na(demo_csv)) {
  demo <- read.csv(demo_csv)
  covs <- sub("^cov_", "", grep("^cov_", names(demo), value = TRUE))
  names(demo) <- sub("^cov_", "", names(demo))
  cases$demo_efron <- list(data = demo, covs = covs, ties = "efron")
  cases$demo_breslow <- list(data = demo, covs = covs, ties = "breslow")
}

fit_case <- function(case) {
  d <- case$data
  lhs <- if (is.null(case$start)) "Surv(time, status)" else "Surv(start, time, status)"
  rhs <- paste(case$covs, collapse = " + ")
  if (!is.null(case$strata)) rhs <- paste0(rhs, " + strata(", case$strata, ")")
  if (!is.null(case$cluster)) rhs <- paste0(rhs, " + cluster(", case$cluster, ")")
  f <- as.formula(paste(lhs, "~", rhs))
  if (is.null(case$weights)) coxph(f, data = d, ties = case$ties, x = TRUE)
  else coxph(f, data = d, ties = case$ties, weights = d[[case$weights]], x = TRUE)
}

spec <- data.frame()
for (name in names(cases)) {
  case <- cases[[name]]
  d <- case$data
  put(d, paste0(name, "_data"))
  spec <- rbind(spec, data.frame(
    case = name, covariates = paste(case$covs, collapse = ","), ties = case$ties,
    strata = if (is.null(case$strata)) "" else case$strata,
    start = if (is.null(case$start)) "" else case$start,
    weights = if (is.null(case$weights)) "" else case$weights,
    cluster = if (is.null(case$cluster)) "" else case$cluster))
  fit <- fit_case(case)
  put(data.frame(term = names(coef(fit)), coef = unname(coef(fit))), paste0(name, "_coef"))

  # residuals.coxph, every type (rows in the data's order; Schoenfeld in R's death order)
  put(data.frame(value = unname(residuals(fit, type = "martingale"))), paste0(name, "_martingale"))
  put(data.frame(value = unname(residuals(fit, type = "deviance"))), paste0(name, "_deviance"))
  for (type in c("score", "dfbeta", "dfbetas")) {
    r <- as.matrix(residuals(fit, type = type))
    colnames(r) <- names(coef(fit))
    put(as.data.frame(r), paste0(name, "_", type))
  }
  for (type in c("schoenfeld", "scaledsch")) {
    r <- as.matrix(residuals(fit, type = type))
    colnames(r) <- names(coef(fit))
    out <- data.frame(time = as.numeric(rownames(r)), r, check.names = FALSE)
    put(out, paste0(name, "_", type))
  }
  if (!is.null(case$cluster)) {
    r <- as.matrix(residuals(fit, type = "dfbeta", collapse = d[[case$cluster]]))
    colnames(r) <- names(coef(fit))
    put(data.frame(group = as.numeric(rownames(r)), r, check.names = FALSE),
        paste0(name, "_dfbeta_collapsed"))
    put(data.frame(value = unname(residuals(fit, type = "deviance", collapse = d[[case$cluster]]))),
        paste0(name, "_deviance_collapsed"))
  }

  # survfit.coxph for two covariate profiles (rows 1 and 2 of the data), log and log-log CIs
  {
    newdata <- d[1:2, c(case$covs, case$strata), drop = FALSE]
    for (ct in c("log", "log-log")) {
      sf <- survfit(fit, newdata = newdata, conf.type = ct)
      curves <- data.frame()
      if (is.null(case$strata)) {
        for (p in 1:2) {
          curves <- rbind(curves, data.frame(
            profile = p, time = sf$time, n_risk = sf$n.risk, n_event = sf$n.event,
            n_censor = sf$n.censor, cumhaz = sf$cumhaz[, p], surv = sf$surv[, p],
            std_err = sf$std.err[, p], ci_lower = sf$lower[, p], ci_upper = sf$upper[, p]))
        }
      } else {  # newdata with the stratum: one curve per row, each of its own stratum
        for (p in 1:2) {
          s <- sf[p]
          curves <- rbind(curves, data.frame(
            profile = p, time = s$time, n_risk = s$n.risk, n_event = s$n.event,
            n_censor = s$n.censor, cumhaz = s$cumhaz, surv = s$surv,
            std_err = s$std.err, ci_lower = s$lower, ci_upper = s$upper))
        }
      }
      put(curves, paste0(name, "_survfit_", ct))
    }
    if (is.null(case$strata)) {  # the other baseline hazard than the fit's ties (ctype =)
      other <- if (case$ties == "efron") 1 else 2
      sf <- survfit(fit, newdata = newdata, ctype = other)
      put(data.frame(profile = rep(1:2, each = length(sf$time)), time = rep(sf$time, 2),
                     cumhaz = c(sf$cumhaz), std_err = c(sf$std.err), ci_lower = c(sf$lower),
                     ci_upper = c(sf$upper)), paste0(name, "_survfit_ctype", other))
    }
    # Direct-adjusted (marginal) survival: the cohort's curves averaged, first covariate set to
    # each of its two lowest values.
    if (is.null(case$strata)) {
      v <- case$covs[1]
      levels <- sort(unique(d[[v]]))[1:2]
      adjusted <- data.frame()
      for (lev in levels) {
        nd <- d[, case$covs, drop = FALSE]
        nd[[v]] <- lev
        sf <- survfit(fit, newdata = nd, se.fit = FALSE)
        adjusted <- rbind(adjusted, data.frame(level = lev, time = sf$time,
                                               surv = rowMeans(sf$surv)))
      }
      put(adjusted, paste0(name, "_adjusted"))
    }
  }

  # concordance() of the fit: estimate, variance and pair counts
  cc <- concordance(fit)
  counts <- rbind(cc$count)
  put(data.frame(concordance = cc$concordance, var = cc$var,
                 concordant = sum(counts[, "concordant"]), discordant = sum(counts[, "discordant"]),
                 tied_x = sum(counts[, "tied.x"]), tied_y = sum(counts[, "tied.y"]),
                 tied_xy = sum(counts[, "tied.xy"])), paste0(name, "_concordance"))
}
put(spec, "cases")

# ------------------------------------------------------------------ one-sample and k-sample
# survfit(ctype = 1, 2): Nelson–Aalen and Fleming–Harrington cumulative hazard
groups <- list(lung = list(data = lung2, group = "sex"), aml = list(data = {
  a <- aml; data.frame(time = a$time, status = a$status, group = as.integer(a$x == "Maintained"))
}, group = "group"))
if (!is.na(demo_csv)) groups$demo <- list(data = cases$demo_efron$data, group = "group")
for (name in names(groups)) {
  d <- groups[[name]]$data
  g <- groups[[name]]$group
  put(data.frame(time = d$time, status = d$status, group = d[[g]]), paste0("np_", name, "_data"))
  for (ctype in 1:2) {
    for (ct in c("log", "log-log")) {
      sf <- survfit(Surv(time, status) ~ 1, data = d, ctype = ctype, stype = 2, conf.type = ct)
      put(data.frame(time = sf$time, n_risk = sf$n.risk, n_event = sf$n.event,
                     cumhaz = sf$cumhaz, std_chaz = sf$std.chaz, surv = sf$surv,
                     std_err = sf$std.err, ci_lower = sf$lower, ci_upper = sf$upper),
          paste0("np_", name, "_cumhaz_", ctype, "_", ct))
    }
  }
  # survdiff(rho =): the G-rho family, unstratified and stratified by a second split
  d$half <- as.integer(seq_len(nrow(d)) %% 2)
  rows <- data.frame()
  for (rho in c(0, 0.5, 1, 2)) {
    for (stratified in c(FALSE, TRUE)) {
      f <- if (stratified) Surv(time, status) ~ group + strata(half) else Surv(time, status) ~ group
      dd <- data.frame(time = d$time, status = d$status, group = d[[g]], half = d$half)
      sd <- survdiff(f, data = dd, rho = rho)
      rows <- rbind(rows, data.frame(rho = rho, stratified = stratified, chisq = sd$chisq,
                                     df = length(sd$n) - 1,
                                     p = pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE),
                                     observed_1 = unname(rowSums(as.matrix(sd$obs))[1]),
                                     expected_1 = unname(rowSums(as.matrix(sd$exp))[1]),
                                     var_11 = sd$var[1, 1]))
    }
  }
  put(rows, paste0("np_", name, "_survdiff"))
  # summary(survfit, times, extend = TRUE / FALSE)
  km <- survfit(Surv(time, status) ~ 1, data = d)
  last <- max(d$time)
  times <- c(0, min(d$time) / 2, median(d$time), last, last + 1, 2 * last)
  for (extend in c(TRUE, FALSE)) {
    s <- summary(km, times = times, extend = extend)
    put(data.frame(time = s$time, n_risk = s$n.risk, surv = s$surv, std_err = s$std.err,
                   ci_lower = s$lower, ci_upper = s$upper),
        paste0("np_", name, "_summary_", if (extend) "extend" else "noextend"))
  }
  put(data.frame(time = times), paste0("np_", name, "_summary_times"))
}
