# Reference values for the site-aware tables (rwe.sites), computed with R's survival and metafor.
#
# Usage: Rscript sites_reference.R ADAM_DIR OUT_DIR CONF_TYPE CONF_LEVEL MIN_REGIMEN_N SUBGROUPS COVARIATES
#        [META_METHOD META_TEST AUTO_KNHA_BELOW]
# (SUBGROUPS, COVARIATES comma-separated; the meta-analysis defaults REML, auto, 10). Reads adsl.csv (with a site column) and adtte.csv and
# writes site_summary.csv, logrank_stratified.csv, cox_stratified.csv,
# cox_stratified_diagnostics.csv and site_meta.csv (site rows and pooled rows).
# Conventions that are not R output (documented in rwe.sites) are applied here independently:
# a covariate that is constant, all missing, or constant within every site (stratified models)
# is dropped; a 0/1 covariate with no events in a level, or one coxph warns "may be infinite",
# is NA (and a site where it is NA is left out of that term's pooling).
suppressPackageStartupMessages({library(survival); library(metafor)})

args <- commandArgs(trailingOnly = TRUE)
adam_dir <- args[1]; out_dir <- args[2]; conf_type <- args[3]
conf_level <- as.numeric(args[4]); min_regimen_n <- as.integer(args[5])
split <- function(x) if (is.na(x) || x == "") character(0) else strsplit(x, ",")[[1]]
subgroups <- split(args[6]); covariates <- split(args[7])
meta_method <- if (length(args) >= 8) args[8] else "REML"
meta_test <- if (length(args) >= 9) args[9] else "auto"
auto_knha_below <- if (length(args) >= 10) as.integer(args[10]) else 10L
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "meta_fit.R"))
# The test of the prespecified analysis: auto = knha for random effects below auto_knha_below sites.
resolve_test <- function(k) {
  if (meta_test != "auto") return(meta_test)
  if (meta_method != "FE" && k < auto_knha_below) "knha" else "z"
}

adsl <- read.csv(file.path(adam_dir, "adsl.csv"), stringsAsFactors = FALSE)
adtte <- read.csv(file.path(adam_dir, "adtte.csv"), stringsAsFactors = FALSE)
adsl$site <- as.character(adsl$site)
counts <- sort(table(adsl$regimen), decreasing = TRUE)
regimens <- names(counts)[counts > min_regimen_n]
sets <- c(list(all = adsl), setNames(lapply(regimens, function(r) adsl[adsl$regimen == r, ]), regimens))
endpoints <- c("PFS", "OS")
sites <- unique(adsl$site)
cats <- c("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD")
z <- qnorm(1 - (1 - conf_level) / 2)

with_tte <- function(subset, endpoint) {
  tte <- adtte[adtte$paramcd == endpoint, c("site", "patient_id", "aval", "cnsr")]
  tte$site <- as.character(tte$site)
  d <- merge(subset, tte, by = c("site", "patient_id"))
  d$event <- 1 - d$cnsr
  d
}
km_median <- function(time, status) {
  q <- quantile(survfit(Surv(time, status) ~ 1, conf.type = conf_type, conf.int = conf_level), probs = 0.5)
  c(q$quantile, q$lower, q$upper)
}
exact <- function(x, n) if (n == 0) c(NA, NA) else binom.test(x, n, conf.level = conf_level)$conf.int[1:2]

# ---------------------------------------------------------------- per-site summary
summary_rows <- list()
groups <- setNames(lapply(sites, function(s) adsl[adsl$site == s, ]), sites)
if (length(sites) > 1) groups$pooled <- adsl
for (g in names(groups)) {
  x <- groups[[g]]
  row <- data.frame(site = g, n = nrow(x))
  for (ep in endpoints) {
    d <- with_tte(x, ep)
    m <- km_median(d$aval, d$event)
    p <- tolower(ep)
    row[[paste0(p, "_events")]] <- sum(d$event)
    row[[paste0(p, "_median")]] <- m[1]; row[[paste0(p, "_ci_lower")]] <- m[2]; row[[paste0(p, "_ci_upper")]] <- m[3]
    if (ep == "OS") {
      f <- km_median(d$aval, 1 - d$event)
      row$median_followup <- f[1]; row$followup_ci_lower <- f[2]; row$followup_ci_upper <- f[3]
    }
  }
  e <- x$best_response[x$best_response %in% cats]; n <- length(e)
  orr <- sum(e %in% cats[1:4]); cbr <- sum(e %in% cats[1:5])
  row$n_evaluable <- n
  ci <- exact(orr, n); row$orr <- if (n) orr / n else NA; row$orr_ci_lower <- ci[1]; row$orr_ci_upper <- ci[2]
  ci <- exact(cbr, n); row$cbr <- if (n) cbr / n else NA; row$cbr_ci_lower <- ci[1]; row$cbr_ci_upper <- ci[2]
  summary_rows[[length(summary_rows) + 1]] <- row
}

# ---------------------------------------------------------------- Cox helper
# Complete-case coxph of `wanted` in d (stratified by site when strat), with rwe's conventions.
fit_cox <- function(d, wanted, strat) {
  present <- wanted[sapply(wanted, function(c) any(!is.na(d[[c]])))]
  x <- d[complete.cases(d[, present, drop = FALSE]), ]
  usable <- wanted[sapply(wanted, function(c) {
    v <- x[[c]][!is.na(x[[c]])]
    ok <- length(v) > 0 && length(unique(v)) > 1 &&
      all(sapply(c(0, 1), function(l) sum(x$event[x[[c]] == l]) > 0))
    if (ok && strat) ok <- any(tapply(x[[c]], x$site, function(s) length(unique(s)) > 1))
    ok
  })]
  out <- list(x = x, usable = usable, fit = NULL, infinite = character(0))
  if (length(usable) == 0) return(out)
  rhs <- paste(usable, collapse = "+")
  if (strat) rhs <- paste(rhs, "+ strata(site)")
  infinite <- character(0)
  fit <- withCallingHandlers(
    coxph(as.formula(paste("Surv(aval, event) ~", rhs)), data = x, ties = "efron"),
    warning = function(w) {
      msg <- conditionMessage(w)
      if (grepl("did not converge", msg)) infinite <<- c(infinite, usable, "<not converged>")
      if (grepl("may be infinite", msg)) {
        idx <- as.integer(strsplit(sub(".*variable ([0-9, ]+);.*", "\\1", msg), ",")[[1]])
        infinite <<- usable[idx]
      }
      invokeRestart("muffleWarning")
    })
  if ("<not converged>" %in% infinite) {
    out$usable <- character(0)
    return(out)
  }
  out$fit <- fit; out$infinite <- infinite
  out
}

# ---------------------------------------------------------------- stratified log-rank and Cox
lr <- list(); cx <- list(); dg <- list()
if (length(sites) > 1) for (set in names(sets)) for (ep in endpoints) {
  d <- with_tte(sets[[set]], ep)
  for (v in subgroups) {
    x <- d[!is.na(d[[v]]), ]
    res <- c(NA, NA, NA)
    if (length(unique(x[[v]])) == 2) {
      t <- survdiff(Surv(aval, event) ~ x[[v]] + strata(site), data = x)
      e <- if (is.matrix(t$exp)) rowSums(t$exp) else t$exp
      df <- sum(e > 0) - 1
      if (df >= 1) res <- c(t$chisq, df, pchisq(t$chisq, df, lower.tail = FALSE))
    }
    lr[[length(lr) + 1]] <- data.frame(analysis_set = set, endpoint = ep, variable = v, chisq = res[1],
                                       df = res[2], p = res[3])
  }
  models <- c(setNames(lapply(covariates, function(c) c), rep("univariable", length(covariates))),
              list(multivariable = covariates))
  for (k in seq_along(models)) {
    model <- names(models)[k]; wanted <- models[[k]]
    m <- fit_cox(d, wanted, TRUE)
    est <- setNames(lapply(wanted, function(c) c(NA, NA, NA, NA)), wanted)
    if (!is.null(m$fit) && length(m$usable) > 0) {
      fit <- m$fit
      s <- summary(fit, conf.int = conf_level)
      for (c in m$usable) if (!(c %in% m$infinite)) {
        est[[c]] <- c(s$conf.int[c, "exp(coef)"], s$conf.int[c, 3], s$conf.int[c, 4], s$coefficients[c, "Pr(>|z|)"])
      }
      base <- data.frame(analysis_set = set, endpoint = ep, model = model, covariates = paste(wanted, collapse = "+"))
      p <- length(m$usable)
      lrt <- 2 * diff(fit$loglik)
      dg[[length(dg) + 1]] <- cbind(base, statistic = c("lr", "wald", "score", "concordance"), term = "",
        value = c(lrt, fit$wald.test, fit$score, fit$concordance[["concordance"]]),
        df = c(p, p, p, NA), p = c(pchisq(lrt, p, lower.tail = FALSE), pchisq(fit$wald.test, p, lower.tail = FALSE),
                                   pchisq(fit$score, p, lower.tail = FALSE), NA))
      zt <- cox.zph(fit, transform = "km")$table
      dg[[length(dg) + 1]] <- cbind(base, statistic = "zph", term = rownames(zt), value = zt[, "chisq"],
                                    df = zt[, "df"], p = zt[, "p"])
    }
    for (c in wanted) cx[[length(cx) + 1]] <- data.frame(analysis_set = set, endpoint = ep, model = model, term = c,
      hr = est[[c]][1], ci_lower = est[[c]][2], ci_upper = est[[c]][3], p = est[[c]][4], n = nrow(m$x),
      events = sum(m$x$event))
  }
}

# ---------------------------------------------------------------- per-site Cox, metafor::rma
meta <- list()
if (length(sites) > 1) for (ep in endpoints) {
  per_site <- lapply(sites, function(s) fit_cox(with_tte(adsl[adsl$site == s, ], ep), covariates, FALSE))
  names(per_site) <- sites
  for (c in covariates) {
    yi <- c(); vi <- c(); used <- c()
    site_rows <- list()
    for (s in sites) {
      m <- per_site[[s]]
      row <- data.frame(site = s, method = "", test = "", log_hr = NA, se = NA, hr = NA, ci_lower = NA,
                        ci_upper = NA, p = NA, df = NA, pi_lower = NA, pi_upper = NA, weight_fe = NA, weight_dl = NA,
                        weight_reml = NA, n = nrow(m$x), events = sum(m$x$event), k = NA, n_excluded = NA, q = NA,
                        q_df = NA, q_p = NA, i2 = NA, i2_ci_lower = NA, i2_ci_upper = NA, h2 = NA, h2_ci_lower = NA,
                        h2_ci_upper = NA, tau2 = NA, tau2_ci_lower = NA, tau2_ci_upper = NA, tau = NA,
                        tau_ci_lower = NA, tau_ci_upper = NA)
      if (!is.null(m$fit) && c %in% m$usable && !(c %in% m$infinite)) {
        b <- coef(m$fit)[[c]]; se <- sqrt(vcov(m$fit)[c, c])
        row$log_hr <- b; row$se <- se; row$hr <- exp(b); row$ci_lower <- exp(b - z * se); row$ci_upper <- exp(b + z * se)
        row$p <- summary(m$fit)$coefficients[c, "Pr(>|z|)"]
        yi <- c(yi, b); vi <- c(vi, se^2); used <- c(used, s)
      }
      site_rows[[s]] <- row
    }
    pooled <- list()
    empty <- data.frame(site = "pooled", method = "", test = "", log_hr = NA, se = NA, hr = NA, ci_lower = NA,
                        ci_upper = NA, p = NA, df = NA, pi_lower = NA, pi_upper = NA, weight_fe = NA, weight_dl = NA,
                        weight_reml = NA, n = NA, events = NA, k = length(yi), n_excluded = length(sites) - length(used),
                        q = NA, q_df = NA, q_p = NA, i2 = NA, i2_ci_lower = NA, i2_ci_upper = NA, h2 = NA,
                        h2_ci_lower = NA, h2_ci_upper = NA, tau2 = NA, tau2_ci_lower = NA, tau2_ci_upper = NA,
                        tau = NA, tau_ci_lower = NA, tau_ci_upper = NA)
    chosen <- c(meta_method, resolve_test(length(yi)))
    if (length(yi) < 2) {  # nothing to pool: one prespecified row with the reason
      row <- empty; row$method <- chosen[1]; row$test <- chosen[2]
      pooled[[1]] <- row
    } else {
      for (method in c("FE", "DL", "REML")) {
        w <- weights(rma(yi = yi, vi = vi, method = method))
        for (i in seq_along(used)) site_rows[[used[i]]][[paste0("weight_", tolower(method))]] <- w[[i]]
      }
      analyses <- list(chosen)
      for (method in c("FE", "DL", "REML")) if (!identical(c(method, "z"), chosen)) analyses[[length(analyses) + 1]] <- c(method, "z")
      for (a in analyses) {
        fit <- suppressWarnings(meta_fit(yi, vi, a[1], a[2], conf_level))
        row <- empty; row$method <- a[1]; row$test <- a[2]
        for (col in intersect(names(fit), names(row))) row[[col]] <- fit[[col]]
        row$log_hr <- fit$estimate; row$q_df <- fit$k - 1
        for (col in c("hr", "ci_lower", "ci_upper", "pi_lower", "pi_upper")) {
          row[[col]] <- exp(if (col == "hr") fit$estimate else fit[[col]])
        }
        pooled[[length(pooled) + 1]] <- row
      }
    }
    for (r in c(site_rows, pooled)) meta[[length(meta) + 1]] <- cbind(data.frame(analysis_set = "all", endpoint = ep,
      model = "multivariable", term = c), r)
  }
}

dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
out <- list(site_summary = summary_rows, logrank_stratified = lr, cox_stratified = cx,
            cox_stratified_diagnostics = dg, site_meta = meta)
for (name in names(out)) {
  if (length(out[[name]]) == 0) next  # one site: rwe writes a note row, nothing to compare
  write.csv(do.call(rbind, out[[name]]), file.path(out_dir, paste0(name, ".csv")), row.names = FALSE)
}
cat("R", R.version$major, R.version$minor, "survival", as.character(packageVersion("survival")),
    "metafor", as.character(packageVersion("metafor")), "\n")
