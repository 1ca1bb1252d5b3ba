# Reference values of the landmark and time-dependent Cox analyses of response (rwe.landmark)
# with delayed entry (ADTTE's `entry`, months), computed with R's survival package.
#
# Usage: Rscript delayed_entry_landmark.R ADAM_DIR OUT_DIR CONF_TYPE CONF_LEVEL MIN_REGIMEN_N \
#                LANDMARKS COVARIATES
# As landmark_reference.R, except: at landmark L a patient is at risk only if under observation
# at L (entry < L < aval; time from L, so no truncation is left); the counting-process rows are
# tmerge(..., event = event(aval, event), tstart = entry, tstop = aval), so each patient is at risk from entry.
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
adam_dir <- args[1]; out_dir <- args[2]; conf_type <- args[3]
conf_level <- as.numeric(args[4]); min_regimen_n <- as.integer(args[5])
split <- function(x) if (is.na(x) || x == "") character(0) else strsplit(x, ",")[[1]]
landmarks <- as.numeric(split(args[6])); covariates <- split(args[7])
days_per_month <- 30.4375

adsl <- read.csv(file.path(adam_dir, "adsl.csv"), stringsAsFactors = FALSE)
adtte <- read.csv(file.path(adam_dir, "adtte.csv"), stringsAsFactors = FALSE)
# No look-ahead: a response counts from the day it was confirmed (response_confirmed_day).
adsl$known <- !is.na(adsl$responder) & adsl$best_response_source %in% c("responses.csv", "labs.csv") &
  (adsl$responder == 0 | !is.na(adsl$response_confirmed_day))
adsl$response_month <- ifelse(adsl$responder == 1, adsl$response_confirmed_day / days_per_month, Inf)
counts <- sort(table(adsl$regimen), decreasing = TRUE)
regimens <- names(counts)[counts > min_regimen_n]
sets <- c(list(all = adsl), setNames(lapply(regimens, function(r) adsl[adsl$regimen == r, ]), regimens))

with_tte <- function(subset, endpoint) {
  tte <- adtte[adtte$paramcd == endpoint, c("site", "patient_id", "aval", "cnsr", "entry")]
  d <- merge(subset, tte, by = c("site", "patient_id"))
  d$event <- 1 - d$cnsr
  d
}
median_ci <- function(time, status) {
  if (length(time) == 0) return(c(NA, NA, NA))
  q <- quantile(survfit(Surv(time, status) ~ 1, conf.type = conf_type, conf.int = conf_level), probs = 0.5)
  c(q$quantile, q$lower, q$upper)
}
# coxph with rwe's conventions: NA for a term with no events in a level or "may be infinite".
cox_estimates <- function(formula, data, terms, event) {
  est <- setNames(lapply(terms, function(t) rep(NA, 4)), terms)
  usable <- terms[sapply(terms, function(t) {
    v <- data[[t]]
    length(unique(v)) > 1 && all(sapply(c(0, 1), function(l) sum(event[v == l]) > 0))
  })]
  if (length(usable) == 0) return(est)
  infinite <- character(0)
  fit <- withCallingHandlers(
    coxph(as.formula(paste(formula, paste(usable, collapse = "+"))), data = data, ties = "efron"),
    warning = function(w) {
      msg <- conditionMessage(w)
      if (grepl("did not converge", msg)) infinite <<- usable
      if (grepl("may be infinite", msg)) {
        idx <- as.integer(strsplit(sub(".*variable ([0-9, ]+);.*", "\\1", msg), ",")[[1]])
        infinite <<- usable[idx]
      }
      invokeRestart("muffleWarning")
    })
  s <- summary(fit, conf.int = conf_level)
  for (t in setdiff(usable, infinite)) {
    est[[t]] <- c(s$conf.int[t, "exp(coef)"], s$conf.int[t, 3], s$conf.int[t, 4], s$coefficients[t, "Pr(>|z|)"])
  }
  est
}

lm_rows <- list(); td_rows <- list()
for (set in names(sets)) for (ep in c("PFS", "OS")) {
  d <- with_tte(sets[[set]], ep)
  d <- d[d$known, ]
  for (L in landmarks) {
    x <- d[d$aval > L & d$entry < L, ]
    x$time <- x$aval - L
    x$responded_by_landmark <- as.numeric(x$response_month <= L)
    cmp <- rep(NA, 7)
    if (length(unique(x$responded_by_landmark)) == 2) {
      t <- survdiff(Surv(time, event) ~ responded_by_landmark, data = x)
      df <- sum(t$exp > 0) - 1
      lr <- if (df >= 1) c(t$chisq, df, pchisq(t$chisq, df, lower.tail = FALSE)) else c(NA, NA, NA)
      hr <- cox_estimates("Surv(time, event) ~", x, "responded_by_landmark", x$event)[[1]]
      cmp <- c(hr, lr)
    }
    groups <- list(all = x, `1` = x[x$responded_by_landmark == 1, ], `0` = x[x$responded_by_landmark == 0, ])
    for (level in names(groups)) {
      g <- groups[[level]]
      m <- median_ci(g$time, g$event)
      st <- if (level == "all") cmp else rep(NA, 7)
      lm_rows[[length(lm_rows) + 1]] <- data.frame(analysis_set = set, endpoint = ep, landmark_month = L,
        level = level, n = nrow(g), events = sum(g$event), median = m[1], ci_lower = m[2], ci_upper = m[3],
        hr = st[1], hr_ci_lower = st[2], hr_ci_upper = st[3], hr_p = st[4], logrank_chisq = st[5],
        logrank_df = st[6], logrank_p = st[7], n_not_at_risk = nrow(d) - nrow(x))
    }
  }
  x <- d[d$aval > 0, ]
  x$id <- seq_len(nrow(x))
  x$rt <- ifelse(is.finite(x$response_month), x$response_month, NA)
  for (model in c("univariable", "multivariable")) {
    covs <- if (model == "univariable") character(0) else covariates
    if (model == "multivariable" && length(covs) == 0) next
    y <- x[complete.cases(x[, covs, drop = FALSE]), ]
    base <- tmerge(y[, c("id", "rt", covs)], y, id = id, event = event(aval, event), tstart = entry, tstop = aval)
    # tmerge refuses a tdc() with no time at all: no one responded, the covariate is 0 throughout.
    cp <- if (all(is.na(y$rt))) transform(base, responder_td = 0) else tmerge(base, y, id = id, responder_td = tdc(rt))
    terms <- c("responder_td", covs)
    est <- cox_estimates("Surv(tstart, tstop, event) ~", cp, terms, cp$event)
    for (t in terms) td_rows[[length(td_rows) + 1]] <- data.frame(analysis_set = set, endpoint = ep,
      model = model, term = t, hr = est[[t]][1], ci_lower = est[[t]][2], ci_upper = est[[t]][3],
      p = est[[t]][4], n = nrow(y), events = sum(cp$event), n_rows = nrow(cp))
  }
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
write.csv(do.call(rbind, lm_rows), file.path(out_dir, "landmark.csv"), row.names = FALSE)
write.csv(do.call(rbind, td_rows), file.path(out_dir, "cox_time_dependent.csv"), row.names = FALSE)
