# Reference values for the survival tables, computed with R's survival package.
#
# Usage: Rscript survival_reference.R ADAM_DIR OUT_DIR CONF_TYPE CONF_LEVEL MIN_REGIMEN_N \
#                SUBGROUPS COVARIATES LANDMARKS [TIES [PFS_RULE]]
# (SUBGROUPS, COVARIATES, LANDMARKS comma-separated). With PFS_RULE (all or myeloma), PFS alone
# is analysed, derived here from adsl.csv under that rule (DESIGN.md §4: death from any cause
# an event, or only from myeloma or unknown cause), not read from adtte.csv: the reference of
# rwe's sensitivity definitions of PFS. Otherwise reads adsl.csv and adtte.csv, derives the
# analysis sets on its own (all + each regimen with more than MIN_REGIMEN_N patients) and writes
# km_medians.csv, km_landmarks.csv, followup.csv, logrank.csv, cox.csv, cox_diagnostics.csv.
# Conventions that are not R output (documented in rwe.survival) are applied here independently:
# a covariate that is constant or all missing is dropped; a 0/1 covariate with no events in a
# level, or one coxph warns "may be infinite", is reported as NA; so is every term of a model
# with fewer than two events or in which every patient at risk has the event at each event
# time (e.g. all dead on day 0: coxph returns a flat likelihood's 0); log-rank with fewer than
# two groups having expected events, a variance matrix of rank below its df, or one survdiff
# cannot invert (it stops), is NA.
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
adam_dir <- args[1]; out_dir <- args[2]; conf_type <- args[3]
conf_level <- as.numeric(args[4]); min_regimen_n <- as.integer(args[5])
split <- function(x) if (is.na(x) || x == "") character(0) else strsplit(x, ",")[[1]]
subgroups <- split(args[6]); covariates <- split(args[7]); landmarks <- as.numeric(split(args[8]))
days_per_month <- 30.4375
ties <- if (length(args) >= 9) args[9] else "efron"  # conventions: r (efron) or sas (breslow)
pfs_rule <- if (length(args) >= 10) args[10] else ""

adsl <- read.csv(file.path(adam_dir, "adsl.csv"), stringsAsFactors = FALSE)
adtte <- read.csv(file.path(adam_dir, "adtte.csv"), stringsAsFactors = FALSE)
counts <- sort(table(adsl$regimen), decreasing = TRUE)
regimens <- names(counts)[counts > min_regimen_n]
sets <- c(list(all = adsl), setNames(lapply(regimens, function(r) adsl[adsl$regimen == r, ]), regimens))
endpoints <- c("PFS", "OS")
if (pfs_rule != "") {
  progressed <- !is.na(adsl$progression_day)
  died <- !is.na(adsl$death_day) & !progressed
  cause <- ifelse(is.na(adsl$death_cause) | adsl$death_cause == "", "unknown", adsl$death_cause)
  death_event <- died & (pfs_rule == "all" | cause %in% c("myeloma", "unknown"))
  censor_day <- ifelse(is.na(adsl$last_assessment_day), adsl$last_followup_day, adsl$last_assessment_day)
  day <- ifelse(progressed, adsl$progression_day, ifelse(died, adsl$death_day, censor_day))
  adtte <- data.frame(site = adsl$site, patient_id = adsl$patient_id, paramcd = "PFS",
    aval = day / days_per_month, cnsr = as.integer(!(progressed | death_event)))
  endpoints <- "PFS"
}

with_tte <- function(subset, endpoint) {
  tte <- adtte[adtte$paramcd == endpoint, c("site", "patient_id", "aval", "cnsr")]
  d <- merge(subset, tte, by = c("site", "patient_id"))
  d$event <- 1 - d$cnsr
  d
}
groups <- function(d) {
  out <- list(list(variable = "all", level = "all", data = d))
  for (v in subgroups) for (lv in c(0, 1)) {
    out[[length(out) + 1]] <- list(variable = v, level = as.character(lv), data = d[!is.na(d[[v]]) & d[[v]] == lv, ])
  }
  out
}
fit_km <- function(time, status) survfit(Surv(time, status) ~ 1, conf.type = conf_type, conf.int = conf_level)

km <- list(); lm <- list(); fu <- list(); lr <- list(); cx <- list(); dg <- list()
for (set in names(sets)) for (ep in endpoints) {
  d <- with_tte(sets[[set]], ep)
  for (g in groups(d)) {
    x <- g$data
    med <- c(NA, NA, NA)
    if (nrow(x) > 0) {
      q <- quantile(fit_km(x$aval, x$event), probs = 0.5)
      med <- c(q$quantile, q$lower, q$upper)
    }
    km[[length(km) + 1]] <- data.frame(analysis_set = set, endpoint = ep, variable = g$variable, level = g$level,
      n = nrow(x), events = sum(x$event), median = med[1], ci_lower = med[2], ci_upper = med[3])
    for (m in landmarks) {
      row <- c(NA, NA, NA, NA)
      if (nrow(x) > 0) {
        # extend = FALSE: a landmark after the last follow-up time has no estimate (R errors).
        s <- tryCatch(summary(fit_km(x$aval, x$event), times = m, extend = FALSE), error = function(e) NULL)
        if (!is.null(s) && length(s$time) == 1) row <- c(s$n.risk, s$surv, s$lower, s$upper)
      }
      lm[[length(lm) + 1]] <- data.frame(analysis_set = set, endpoint = ep, variable = g$variable, level = g$level,
        month = m, n_risk = row[1], surv = row[2], ci_lower = row[3], ci_upper = row[4])
    }
  }
  q <- quantile(fit_km(d$aval, 1 - d$event), probs = 0.5)
  fu[[length(fu) + 1]] <- data.frame(analysis_set = set, endpoint = ep, median_followup = q$quantile,
    ci_lower = q$lower, ci_upper = q$upper)
  for (v in subgroups) {
    x <- d[!is.na(d[[v]]), ]
    res <- c(NA, NA, NA)
    if (length(unique(x[[v]])) == 2) {
      # survdiff stops ("system is exactly singular") when every patient at risk has the event
      t <- tryCatch(survdiff(Surv(aval, event) ~ x[[v]], data = x), error = function(e) NULL)
      df <- if (is.null(t)) 0 else sum(t$exp > 0) - 1
      if (df >= 1 && qr(t$var)$rank >= df) res <- c(t$chisq, df, pchisq(t$chisq, df, lower.tail = FALSE))
    }
    lr[[length(lr) + 1]] <- data.frame(analysis_set = set, endpoint = ep, variable = v, chisq = res[1], df = res[2], p = res[3])
  }
  models <- c(setNames(lapply(covariates, function(c) c), rep("univariable", length(covariates))),
              list(multivariable = covariates))
  for (k in seq_along(models)) {
    model <- names(models)[k]; wanted <- models[[k]]
    present <- wanted[sapply(wanted, function(c) any(!is.na(d[[c]])))]
    x <- d[complete.cases(d[, present, drop = FALSE]), ]
    usable <- wanted[sapply(wanted, function(c) {
      v <- x[[c]][!is.na(x[[c]])]
      length(v) > 0 && length(unique(v)) > 1 && all(sapply(c(0, 1), function(l) sum(x$event[x[[c]] == l]) > 0))
    })]
    est <- setNames(lapply(wanted, function(c) c(NA, NA, NA, NA)), wanted)
    if (sum(x$event) < 2) usable <- character(0)
    if (length(usable) > 0) {
      s0 <- survfit(Surv(aval, event) ~ 1, data = x)
      if (all(s0$n.risk[s0$n.event > 0] == s0$n.event[s0$n.event > 0])) usable <- character(0)
    }
    if (length(usable) > 0) {
      infinite <- character(0)
      fit <- withCallingHandlers(
        coxph(as.formula(paste("Surv(aval, event) ~", paste(usable, collapse = "+"))), data = x, ties = ties),
        warning = function(w) {
          msg <- conditionMessage(w)
          if (grepl("did not converge", msg)) infinite <<- c(infinite, usable, "<not converged>")
          if (grepl("may be infinite", msg)) {
            idx <- as.integer(strsplit(sub(".*variable ([0-9, ]+);.*", "\\1", msg), ",")[[1]])
            infinite <<- usable[idx]
          }
          invokeRestart("muffleWarning")
        })
      if ("<not converged>" %in% infinite) usable <- character(0)  # not estimable: no estimates, no diagnostics
    }
    if (length(usable) > 0) {
      s <- summary(fit, conf.int = conf_level)
      for (c in usable) if (!(c %in% infinite)) {
        est[[c]] <- c(s$conf.int[c, "exp(coef)"], s$conf.int[c, 3], s$conf.int[c, 4], s$coefficients[c, "Pr(>|z|)"])
      }
      label <- paste(wanted, collapse = "+")
      base <- data.frame(analysis_set = set, endpoint = ep, model = model, covariates = label)
      p <- sum(!is.na(coef(fit)))  # an aliased (collinear) term is NA and has no df
      lrt <- 2 * diff(fit$loglik)
      dg[[length(dg) + 1]] <- cbind(base, statistic = c("lr", "wald", "score", "concordance"), term = "",
        value = c(lrt, fit$wald.test, fit$score, fit$concordance[["concordance"]]),
        df = c(p, p, p, NA), p = c(pchisq(lrt, p, lower.tail = FALSE), pchisq(fit$wald.test, p, lower.tail = FALSE),
                                   pchisq(fit$score, p, lower.tail = FALSE), NA))
      z <- cox.zph(fit, transform = "km")$table
      dg[[length(dg) + 1]] <- cbind(base, statistic = "zph", term = rownames(z), value = z[, "chisq"], df = z[, "df"], p = z[, "p"])
    }
    for (c in wanted) cx[[length(cx) + 1]] <- data.frame(analysis_set = set, endpoint = ep, model = model, term = c,
      hr = est[[c]][1], ci_lower = est[[c]][2], ci_upper = est[[c]][3], p = est[[c]][4], n = nrow(x), events = sum(x$event))
  }
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
out <- list(km_medians = km, km_landmarks = lm, followup = fu, logrank = lr, cox = cx, cox_diagnostics = dg)
empty <- list(cox_diagnostics = data.frame(analysis_set = character(0), endpoint = character(0), model = character(0),
  covariates = character(0), statistic = character(0), term = character(0), value = numeric(0), df = numeric(0),
  p = numeric(0)))
for (name in names(out)) {
  table <- if (length(out[[name]])) do.call(rbind, out[[name]]) else empty[[name]]
  write.csv(table, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE)
}
cat("R", R.version$major, R.version$minor, "survival", as.character(packageVersion("survival")), "\n")
