# Reference values of the survival tables with delayed entry (left truncation), computed with
# R's survival package on (entry, exit] risk sets: Surv(entry, aval, event).
#
# Usage: Rscript delayed_entry.R ADAM_DIR OUT_DIR CONF_TYPE CONF_LEVEL MIN_REGIMEN_N \
#                SUBGROUPS COVARIATES LANDMARKS [TIES]
# As survival_reference.R (same conventions for what is not R output), but every survfit and
# coxph uses Surv(entry, aval, event) with ADTTE's `entry` (months). survdiff refuses such data
# ("Right censored data only"): the log-rank test is the score test of the exact partial
# likelihood of coxph(Surv(entry, aval, event) ~ factor(x), ties = "exact") (computed as clogit
# does: exact_logrank below), which is the log-rank statistic (observed - expected,
# hypergeometric variance); logrank_check.csv shows that on the same patients with entry at 0
# it equals survdiff. Also writes km_curves.csv (every step of the
# curve of each analysis set and endpoint).
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
adam_dir <- args[1]; out_dir <- args[2]; conf_type <- args[3]
conf_level <- as.numeric(args[4]); min_regimen_n <- as.integer(args[5])
split <- function(x) if (is.na(x) || x == "") character(0) else strsplit(x, ",")[[1]]
subgroups <- split(args[6]); covariates <- split(args[7]); landmarks <- as.numeric(split(args[8]))
ties <- if (length(args) >= 9) args[9] else "efron"  # conventions: r (efron) or sas (breslow)

adsl <- read.csv(file.path(adam_dir, "adsl.csv"), stringsAsFactors = FALSE)
adtte <- read.csv(file.path(adam_dir, "adtte.csv"), stringsAsFactors = FALSE)
counts <- sort(table(adsl$regimen), decreasing = TRUE)
regimens <- names(counts)[counts > min_regimen_n]
sets <- c(list(all = adsl), setNames(lapply(regimens, function(r) adsl[adsl$regimen == r, ]), regimens))
endpoints <- c("PFS", "OS")

with_tte <- function(subset, endpoint) {
  tte <- adtte[adtte$paramcd == endpoint, c("site", "patient_id", "aval", "cnsr", "entry")]
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
# The score test of the exact partial likelihood of coxph(Surv(entry, aval, event) ~ g,
# ties = "exact"). coxph's own agexact enumerates the subsets of each risk set (hours with 40
# tied deaths), so the same likelihood is written as R's conditional logistic regression does
# (clogit): one stratum per event time holding its risk set (entry < t <= aval), the deaths at
# t as cases, fitted by coxph's recursive exact algorithm (coxexact); its score test at 0.
exact_logrank <- function(entry, time, event, g) {
  times <- sort(unique(time[event == 1]))
  sets <- lapply(seq_along(times), function(k) {
    at <- entry < times[k] & time >= times[k]
    data.frame(k = k, g = g[at], case = as.integer(time[at] == times[k] & event[at] == 1))
  })
  x <- do.call(rbind, sets)
  coxph(Surv(rep(1, nrow(x)), case) ~ g + strata(k), data = x, ties = "exact",
        control = coxph.control(iter.max = 0))$score
}
fit_km <- function(entry, time, status) survfit(Surv(entry, time, status) ~ 1, conf.type = conf_type, conf.int = conf_level)

kc <- list(); lc <- list(); km <- list(); lm <- list(); fu <- list(); lr <- list(); cx <- list(); dg <- list()
for (set in names(sets)) for (ep in endpoints) {
  d <- with_tte(sets[[set]], ep)
  for (g in groups(d)) {
    x <- g$data
    med <- c(NA, NA, NA)
    if (nrow(x) > 0) {
      q <- quantile(fit_km(x$entry, x$aval, x$event), probs = 0.5)
      med <- c(q$quantile, q$lower, q$upper)
    }
    km[[length(km) + 1]] <- data.frame(analysis_set = set, endpoint = ep, variable = g$variable, level = g$level,
      n = nrow(x), events = sum(x$event), median = med[1], ci_lower = med[2], ci_upper = med[3])
    for (m in landmarks) {
      row <- c(NA, NA, NA, NA)
      if (nrow(x) > 0) {
        # extend = FALSE: a landmark after the last follow-up time has no estimate (R errors).
        s <- tryCatch(summary(fit_km(x$entry, x$aval, x$event), times = m, extend = FALSE), error = function(e) NULL)
        if (!is.null(s) && length(s$time) == 1) row <- c(s$n.risk, s$surv, s$lower, s$upper)
      }
      lm[[length(lm) + 1]] <- data.frame(analysis_set = set, endpoint = ep, variable = g$variable, level = g$level,
        month = m, n_risk = row[1], surv = row[2], ci_lower = row[3], ci_upper = row[4])
    }
  }
  f <- fit_km(d$entry, d$aval, d$event)
  kc[[length(kc) + 1]] <- data.frame(analysis_set = set, endpoint = ep, time = f$time, n_risk = f$n.risk,
    n_event = f$n.event, n_censor = f$n.censor, surv = f$surv, std_err = f$std.err, ci_lower = f$lower, ci_upper = f$upper)
  q <- quantile(fit_km(d$entry, d$aval, 1 - d$event), probs = 0.5)
  fu[[length(fu) + 1]] <- data.frame(analysis_set = set, endpoint = ep, median_followup = q$quantile,
    ci_lower = q$lower, ci_upper = q$upper)
  for (v in subgroups) {
    x <- d[!is.na(d[[v]]), ]
    res <- c(NA, NA, NA)
    if (length(unique(x[[v]])) == 2) {
      # survdiff stops ("system is exactly singular") when every patient at risk has the event
      x$g <- factor(x[[v]])
      if (sum(x$event) > 0) {
        t <- tryCatch(exact_logrank(x$entry, x$aval, x$event, x$g), error = function(e) NA)
        if (is.finite(t)) res <- c(t, 1, pchisq(t, 1, lower.tail = FALSE))
      }
      # The same test with entry at 0 is survdiff's (the equivalence the methods state).
      t0 <- tryCatch(survdiff(Surv(aval, event) ~ g, data = x), error = function(e) NULL)
      s0 <- tryCatch(exact_logrank(0 * x$entry, x$aval, x$event, x$g), error = function(e) NA)
      # And exact_logrank is coxph's own exact score test (agexact), on the first 60 patients of
      # OS (few ties: agexact's enumeration stays small).
      agexact <- NA; mine <- NA
      if (ep == "OS") {
        y <- head(x, 60)
        if (length(unique(y$g)) == 2 && sum(y$event) > 0) {
          agexact <- coxph(Surv(entry, aval, event) ~ g, data = y, ties = "exact",
                           control = coxph.control(iter.max = 0))$score
          mine <- exact_logrank(y$entry, y$aval, y$event, y$g)
        }
      }
      if (!is.null(t0)) lc[[length(lc) + 1]] <- data.frame(analysis_set = set, endpoint = ep, variable = v,
        survdiff = t0$chisq, exact_score = s0, agexact_60 = agexact, exact_logrank_60 = mine)
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
      s0 <- survfit(Surv(entry, aval, event) ~ 1, data = x)
      if (all(s0$n.risk[s0$n.event > 0] == s0$n.event[s0$n.event > 0])) usable <- character(0)
    }
    if (length(usable) > 0) {
      infinite <- character(0)
      fit <- withCallingHandlers(
        coxph(as.formula(paste("Surv(entry, aval, event) ~", paste(usable, collapse = "+"))), data = x, ties = ties),
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
out <- list(km_curves = kc, logrank_check = lc, km_medians = km, km_landmarks = lm, followup = fu, logrank = lr, cox = cx, cox_diagnostics = dg)
empty <- list(cox_diagnostics = data.frame(analysis_set = character(0), endpoint = character(0), model = character(0),
  covariates = character(0), statistic = character(0), term = character(0), value = numeric(0), df = numeric(0),
  p = numeric(0)))
for (name in names(out)) {
  table <- if (length(out[[name]])) do.call(rbind, out[[name]]) else empty[[name]]
  write.csv(table, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE)
}
cat("R", R.version$major, R.version$minor, "survival", as.character(packageVersion("survival")), "\n")
