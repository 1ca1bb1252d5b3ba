# Reference values for the comparative-effectiveness tables, computed with R.
#
# Usage: Rscript comparative_reference.R ADAM_DIR OUT_DIR TREATMENT LEVELS COVARIATES ESTIMAND \
#                STABILIZE TRIM TRUNCATE TAU THRESHOLD COMMON CONF_LEVEL LANDMARKS CONF_TYPE TIES \
#                MIN_AT_RISK SPLINES
# (LEVELS, COVARIATES, TRUNCATE, LANDMARKS comma-separated; TRIM, TRUNCATE, TAU may be "NA").
# SPLINES is "covariate:knots,..." or NA (restricted cubic splines, Hmisc::rcspline.eval).
# Reads adsl.csv and adtte.csv and writes ps.csv (per patient: ps, weight), ps_model.csv,
# ps_weights.csv,
# ps_balance.csv, comparative_effects.csv, comparative_km.csv, rmst.csv and competing_risks.csv,
# with the keys and
# columns of rwe.comparative's tables. Each quantity is computed here with base R, survival and
# cmprsk, independently of rwe:
#   glm(family = binomial); weights by their formulas; SMDs with weighted.mean and cobalt's
#   documented standardisation (unweighted groups, p(1 - p) for binary, var() otherwise; pooled
#   for ATE, treated for ATT); Kish ESS; coxph(weights = w, robust = TRUE); E-values by
#   VanderWeele & Ding's formulas; print(survfit, rmean = tau); survfit(Surv(t, factor(s)));
#   cmprsk::cuminc (Gray's test) and cmprsk::crr.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})

args <- commandArgs(trailingOnly = TRUE)
split <- function(x) if (is.na(x) || x == "" || x == "NA") character(0) else strsplit(x, ",")[[1]]
adam_dir <- args[1]; out_dir <- args[2]; treatment <- args[3]
levels <- split(args[4]); covariates <- split(args[5]); estimand <- args[6]
stabilize <- as.logical(args[7]); trim <- suppressWarnings(as.numeric(args[8]))
truncate <- as.numeric(split(args[9])); tau_config <- suppressWarnings(as.numeric(args[10]))
threshold <- as.numeric(args[11]); common_share <- as.numeric(args[12])
conf_level <- as.numeric(args[13]); landmarks <- as.numeric(split(args[14])); conf_type <- args[15]; ties <- args[16]
min_at_risk <- as.integer(args[17])
# SPLINES: "covariate:knots,..." (restricted cubic splines of the PS model) or NA.
splines <- split(args[18])
spline_knots <- setNames(as.integer(sub(".*:", "", splines)), sub(":.*", "", splines))
z <- qnorm(1 - (1 - conf_level) / 2)
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
write <- function(x, name) write.csv(x, file.path(out_dir, name), row.names = FALSE)

adsl <- read.csv(file.path(adam_dir, "adsl.csv"), stringsAsFactors = FALSE)
adtte <- read.csv(file.path(adam_dir, "adtte.csv"), stringsAsFactors = FALSE)
d <- adsl[adsl[[treatment]] %in% levels, ]
d <- d[complete.cases(d[, covariates, drop = FALSE]), ]
for (ep in c("PFS", "OS")) {
  tte <- adtte[adtte$paramcd == ep, c("site", "patient_id", "aval", "cnsr")]
  names(tte)[3:4] <- paste0(tolower(ep), c("_time", "_cnsr"))
  d <- merge(d, tte, by = c("site", "patient_id"))
  d[[paste0(tolower(ep), "_event")]] <- 1 - d[[paste0(tolower(ep), "_cnsr")]]
}
d <- d[!is.na(d$pfs_time) & !is.na(d$os_time), ]
d$treated <- as.integer(d[[treatment]] == levels[1])
# Competing risks at the PFS time: 1 progression, 2 death without progression, 0 censored.
d$cr_status <- ifelse(!is.na(d$progression_day), 1, ifelse(!is.na(d$death_day), 2, 0))

# Propensity score (a covariate constant in the cohort is left out, as rwe does; R: NA).
# Restricted cubic splines: Harrell's knot percentiles (quantile type 7) and Hmisc's basis.
knot_probs <- list("3" = c(.10, .50, .90), "4" = c(.05, .35, .65, .95), "5" = c(.05, .275, .5, .725, .95))
design <- d[, covariates, drop = FALSE]
term_names <- covariates
for (v in names(spline_knots)) {
  knots <- unique(quantile(d[[v]], knot_probs[[as.character(spline_knots[[v]])]], type = 7))
  basis <- Hmisc::rcspline.eval(d[[v]], knots = knots, inclx = FALSE, norm = 2)
  for (j in seq_len(ncol(basis))) {
    design[[paste0(v, "_s", j)]] <- basis[, j]
  }
  term_names <- c(term_names, paste0(v, strrep("'", seq_len(ncol(basis)))))
}
names(term_names) <- names(design)
varying <- names(design)[vapply(names(design), function(v) length(unique(design[[v]])) > 1, logical(1))]
design$treated <- d$treated
ps_fit <- glm(reformulate(if (length(varying)) varying else "1", "treated"), family = binomial, data = design,
              control = glm.control(epsilon = 1e-12, maxit = 100))
d$ps <- fitted(ps_fit)
cf <- summary(ps_fit)$coefficients
shown <- ifelse(rownames(cf) == "(Intercept)", "(Intercept)", term_names[rownames(cf)])
write(data.frame(term = shown, coef = cf[, 1], se = cf[, 2], z = cf[, 3], p = cf[, 4]), "ps_model.csv")
# Overlap: the common support on the whole cohort (before trimming).
support <- c(max(tapply(d$ps, d$treated, min)), min(tapply(d$ps, d$treated, max)))
outside <- d$ps < support[1] | d$ps > support[2]
outside_n <- c(sum(outside & d$treated == 1), sum(outside & d$treated == 0), sum(outside))
if (!is.na(trim)) d <- d[d$ps >= trim & d$ps <= 1 - trim, ]
t1 <- d$treated == 1
share <- mean(t1)
if (estimand == "ATE") {
  w <- ifelse(t1, 1 / d$ps, 1 / (1 - d$ps))
  if (stabilize) w <- w * ifelse(t1, share, 1 - share)
} else {
  w <- ifelse(t1, 1, d$ps / (1 - d$ps))
  if (stabilize) w <- ifelse(t1, w, w * (1 - share) / share)
}
if (length(truncate) == 2) {
  q <- quantile(w, truncate, type = 7)
  w <- pmin(pmax(w, q[1]), q[2])
}
d$w <- w
write(data.frame(site = d$site, patient_id = d$patient_id, ps = d$ps, weight = d$w), "ps.csv")
# Weight distribution per group (quantile type 7) and Kish's ESS.
wrow <- function(g, x, n_out) data.frame(group = g, n = length(x), n_outside_support = n_out,
  support_lower = support[1], support_upper = support[2], weight_min = min(x),
  weight_p05 = quantile(x, .05, type = 7), weight_p25 = quantile(x, .25, type = 7),
  weight_median = quantile(x, .5, type = 7), weight_p75 = quantile(x, .75, type = 7),
  weight_p95 = quantile(x, .95, type = 7), weight_max = max(x), weight_sum = sum(x),
  ess = sum(x)^2 / sum(x^2))
write(rbind(wrow(levels[1], d$w[t1], outside_n[1]), wrow(levels[2], d$w[!t1], outside_n[2]),
            wrow("all", d$w, outside_n[3])), "ps_weights.csv")

# Balance: cobalt's SMD, by hand.
ess <- function(x) sum(x)^2 / sum(x^2)
bal <- list()
for (v in covariates) {
  x <- as.numeric(d[[v]])
  binary <- length(unique(x)) == 2
  if (binary) x <- as.numeric(x == max(x))
  vv <- function(y) if (binary) mean(y) * (1 - mean(y)) else var(y)
  denom <- if (estimand == "ATE") sqrt((vv(x[t1]) + vv(x[!t1])) / 2) else sqrt(vv(x[t1]))
  for (s in c("unweighted", "weighted")) {
    ww <- if (s == "weighted") d$w else rep(1, nrow(d))
    m1 <- weighted.mean(x[t1], ww[t1]); m0 <- weighted.mean(x[!t1], ww[!t1])
    bal[[length(bal) + 1]] <- data.frame(covariate = v, sample = s, mean_treated = m1,
      mean_control = m0, diff = m1 - m0, sd_denominator = denom, smd = (m1 - m0) / denom,
      imbalanced = abs((m1 - m0) / denom) > threshold, ess_treated = ess(ww[t1]),
      ess_control = ess(ww[!t1]))
  }
}
bal <- do.call(rbind, bal)
write(bal, "ps_balance.csv")
# Weighted estimates are interpretable only when every covariate is balanced: no E-value else.
balanced <- !any(bal$imbalanced[bal$sample == "weighted"])

# Hazard ratios and E-values (VanderWeele & Ding 2017, by hand).
rr_scale <- function(hr, common) if (common) (1 - 0.5^sqrt(hr)) / (1 - 0.5^sqrt(1 / hr)) else hr
e_value <- function(rr) { rr <- ifelse(rr < 1, 1 / rr, rr); rr + sqrt(rr * (rr - 1)) }
eff <- list(); rm <- list()
for (ep in c("PFS", "OS")) {
  time <- d[[paste0(tolower(ep), "_time")]]; event <- d[[paste0(tolower(ep), "_event")]]
  dd <- data.frame(time = time, event = event, treated = d$treated, w = d$w)
  share_events <- mean(event)
  common <- share_events > common_share
  for (method in c("unweighted", "weighted")) {
    fit <- if (method == "weighted") {
      coxph(Surv(time, event) ~ treated, data = dd, weights = w, robust = TRUE, ties = ties)
    } else coxph(Surv(time, event) ~ treated, data = dd, ties = ties)
    s <- summary(fit, conf.int = conf_level)
    se <- if (method == "weighted") s$coefficients[1, "robust se"] else s$coefficients[1, "se(coef)"]
    hr <- s$conf.int[1, 1]; lo <- s$conf.int[1, 3]; hi <- s$conf.int[1, 4]
    ev <- NA; ev_ci <- NA
    if (method == "weighted" && balanced) {
      r <- rr_scale(c(hr, lo, hi), common)
      ev <- e_value(r[1])
      ev_ci <- if (r[2] <= 1 && 1 <= r[3]) 1 else e_value(if (r[1] >= 1) r[2] else r[3])
    }
    eff[[length(eff) + 1]] <- data.frame(endpoint = ep, method = method, hr = hr, ci_lower = lo,
      ci_upper = hi, p = s$coefficients[1, ncol(s$coefficients)], se = se, n = fit$n,
      events = fit$nevent, outcome_share = share_events, evalue = ev, evalue_ci = ev_ci)
    # RMST per group at tau (print(survfit, rmean = tau)), difference and ratio.
    # tau: refused beyond the time where a group has fewer than min_at_risk at risk (the
    # min_at_risk-th largest time of the group); NA config = that time.
    kth <- function(x) if (length(x) >= min_at_risk) sort(x, decreasing = TRUE)[min_at_risk] else -Inf
    limit <- min(tapply(time, d$treated, kth))
    tau <- if (is.na(tau_config)) limit else tau_config
    if (tau > limit) {
      rm[[length(rm) + 1]] <- data.frame(endpoint = ep, method = method,
        group = c(levels[1], levels[2], "difference", "ratio"), tau = tau, estimate = NA, se = NA,
        ci_lower = NA, ci_upper = NA, p = NA)
      next
    }
    km <- if (method == "weighted") {
      survfit(Surv(time, event) ~ treated, data = dd, weights = w)
    } else survfit(Surv(time, event) ~ treated, data = dd)
    tab <- summary(km, rmean = tau)$table
    est <- tab[, "rmean"]; se_r <- tab[, "se(rmean)"]  # rows: treated=0, treated=1
    names(est) <- names(se_r) <- c("0", "1")
    group_rows <- data.frame(endpoint = ep, method = method, group = c(levels[2], levels[1]), tau = tau,
      estimate = est, se = se_r, ci_lower = est - z * se_r, ci_upper = est + z * se_r, p = NA)
    diff <- est["1"] - est["0"]; se_d <- sqrt(se_r["1"]^2 + se_r["0"]^2)
    lr <- log(est["1"] / est["0"]); se_l <- sqrt((se_r["1"] / est["1"])^2 + (se_r["0"] / est["0"])^2)
    rm[[length(rm) + 1]] <- rbind(group_rows,
      data.frame(endpoint = ep, method = method, group = "difference", tau = tau, estimate = diff,
                 se = se_d, ci_lower = diff - z * se_d, ci_upper = diff + z * se_d,
                 p = 2 * pnorm(-abs(diff / se_d))),
      data.frame(endpoint = ep, method = method, group = "ratio", tau = tau, estimate = exp(lr),
                 se = se_l, ci_lower = exp(lr - z * se_l), ci_upper = exp(lr + z * se_l),
                 p = 2 * pnorm(-abs(lr / se_l))))
  }
}
write(do.call(rbind, eff), "comparative_effects.csv")

# Kaplan-Meier per group, unweighted and weighted: median (quantile.survfit) and landmarks.
group_name <- ifelse(d$treated == 1, levels[1], levels[2])
at_or_na <- function(fit, m) {
  s <- tryCatch(summary(fit, times = m, extend = FALSE), error = function(e) NULL)
  if (is.null(s) || length(s$time) != 1) c(NA, NA, NA, NA) else c(s$surv, s$lower, s$upper, s$n.risk)
}
km <- list()
for (ep in c("PFS", "OS")) for (method in c("unweighted", "weighted")) for (g in levels) {
  sel <- group_name == g
  dg <- data.frame(time = d[[paste0(tolower(ep), "_time")]][sel], event = d[[paste0(tolower(ep), "_event")]][sel],
                   w = d$w[sel])
  plain <- survfit(Surv(time, event) ~ 1, data = dg, conf.type = conf_type, conf.int = conf_level)
  fit <- if (method == "weighted") {
    survfit(Surv(time, event) ~ 1, data = dg, weights = w, conf.type = conf_type, conf.int = conf_level)
  } else plain
  q <- quantile(fit, probs = 0.5)
  km[[length(km) + 1]] <- data.frame(endpoint = ep, method = method, group = g, statistic = "median",
    month = NA, estimate = unname(q$quantile), ci_lower = unname(q$lower), ci_upper = unname(q$upper),
    n_risk = nrow(dg))
  for (m in landmarks) {
    a <- at_or_na(fit, m)
    km[[length(km) + 1]] <- data.frame(endpoint = ep, method = method, group = g, statistic = "surv",
      month = m, estimate = a[1], ci_lower = a[2], ci_upper = a[3], n_risk = at_or_na(plain, m)[4])
  }
}
write(do.call(rbind, km), "comparative_km.csv")
write(do.call(rbind, rm), "rmst.csv")

# Competing risks: Aalen-Johansen CIF at the landmarks, Gray's test, Fine-Gray.
group_name <- ifelse(d$treated == 1, levels[1], levels[2])
cr <- list()
for (g in c(levels[1], levels[2])) {
  fit_g <- survfit(Surv(pfs_time, factor(cr_status, 0:2)) ~ 1, data = d[group_name == g, ], conf.int = conf_level)
  for (m in landmarks) {
    if (m > max(fit_g$time)) next
    s <- summary(fit_g, times = m, extend = FALSE)
    for (k in 1:2) {
      cr[[length(cr) + 1]] <- data.frame(analysis = "cif", group = g,
        cause = c("progression", "death without progression")[k], month = m,
        estimate = s$pstate[1, k + 1], se = s$std.err[1, k + 1], ci_lower = s$lower[1, k + 1],
        ci_upper = s$upper[1, k + 1], n_risk = s$n.risk[1, 1], statistic = NA, df = NA, p = NA)
    }
  }
}
gray <- cuminc(d$pfs_time, d$cr_status, group_name)$Tests
cr[[length(cr) + 1]] <- data.frame(analysis = "gray_test", group = "all", cause = "progression",
  month = NA, estimate = NA, se = NA, ci_lower = NA, ci_upper = NA, n_risk = NA,
  statistic = gray["1", "stat"], df = gray["1", "df"], p = gray["1", "pv"])
fg <- crr(d$pfs_time, d$cr_status, cbind(treated = d$treated), failcode = 1, cencode = 0)
b <- fg$coef[1]; se_b <- sqrt(fg$var[1, 1])
cr[[length(cr) + 1]] <- data.frame(analysis = "fine_gray", group = "all", cause = "progression",
  month = NA, estimate = exp(b), se = se_b, ci_lower = exp(b - z * se_b), ci_upper = exp(b + z * se_b),
  n_risk = NA, statistic = b / se_b, df = NA, p = 2 * (1 - pnorm(abs(b) / se_b)))
write(do.call(rbind, cr), "competing_risks.csv")
