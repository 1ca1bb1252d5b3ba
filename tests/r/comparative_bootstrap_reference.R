# Reference values for the bootstrap of the weighted comparison, computed with R.
#
# Usage: Rscript comparative_bootstrap_reference.R IN_DIR OUT_DIR COVARIATES SPLINES ESTIMAND \
#                STABILIZE TRIM TRUNCATE TAU_PFS TAU_OS LANDMARKS TIES CONF_LEVEL
# IN_DIR holds cohort.csv (one row per patient: treated, the covariates, pfs_time, pfs_event,
# os_time, os_event) and indices.csv (one row per replicate: the 1-based rows of the resample,
# as rwe drew them). Each replicate reruns the whole pipeline here, independently of rwe:
# restricted cubic splines (Hmisc::rcspline.eval, knots at quantile type 7 of the resample),
# glm(family = binomial), trimming, the weights by their formulas, truncation at quantile
# type 7; coxph(weights = w) log HR; survfit(weights = w) RMST (print rmean) and survival at
# the landmarks (summary(times, extend = FALSE)), per group. The intervals are boot::boot.ci's
# "norm" and "perc" of a boot object holding these replicates.
# Writes t.csv (B x quantities), t0.csv and boot_ci.csv (per quantity: the four limits, on the
# scale of the statistic: log for hr and rmst_ratio).
suppressPackageStartupMessages({
  library(survival)
  library(boot)
})

args <- commandArgs(trailingOnly = TRUE)
split <- function(x) if (is.na(x) || x == "" || x == "NA") character(0) else strsplit(x, ",")[[1]]
in_dir <- args[1]; out_dir <- args[2]; covariates <- split(args[3]); splines <- split(args[4])
estimand <- args[5]; stabilize <- as.logical(args[6]); trim <- suppressWarnings(as.numeric(args[7]))
truncate <- as.numeric(split(args[8]))
taus <- c(PFS = suppressWarnings(as.numeric(args[9])), OS = suppressWarnings(as.numeric(args[10])))
landmarks <- as.numeric(split(args[11])); ties <- args[12]; conf_level <- as.numeric(args[13])
spline_knots <- setNames(as.integer(sub(".*:", "", splines)), sub(":.*", "", splines))
knot_probs <- list("3" = c(.10, .50, .90), "4" = c(.05, .35, .65, .95), "5" = c(.05, .275, .5, .725, .95))
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

d <- read.csv(file.path(in_dir, "cohort.csv"))
idx <- as.matrix(read.csv(file.path(in_dir, "indices.csv"), header = FALSE))

statistic <- function(dd) {
  design <- dd[, covariates, drop = FALSE]
  for (v in names(spline_knots)) {
    knots <- unique(quantile(dd[[v]], knot_probs[[as.character(spline_knots[[v]])]], type = 7))
    basis <- Hmisc::rcspline.eval(dd[[v]], knots = knots, inclx = FALSE, norm = 2)
    for (j in seq_len(ncol(basis))) design[[paste0(v, "_s", j)]] <- basis[, j]
  }
  varying <- names(design)[vapply(names(design), function(v) length(unique(design[[v]])) > 1, logical(1))]
  design$treated <- dd$treated
  fit <- suppressWarnings(glm(reformulate(if (length(varying)) varying else "1", "treated"),
    family = binomial, data = design, control = glm.control(epsilon = 1e-12, maxit = 100)))
  ps <- fitted(fit)
  keep <- if (is.na(trim)) rep(TRUE, nrow(dd)) else ps >= trim & ps <= 1 - trim
  dd <- dd[keep, ]; ps <- ps[keep]
  t1 <- dd$treated == 1
  share <- mean(t1)
  if (estimand == "ATE") {
    w <- ifelse(t1, 1 / ps, 1 / (1 - ps))
    if (stabilize) w <- w * ifelse(t1, share, 1 - share)
  } else {
    w <- ifelse(t1, 1, ps / (1 - ps))
    if (stabilize) w <- ifelse(t1, w, w * (1 - share) / share)
  }
  if (length(truncate) == 2) {
    q <- quantile(w, truncate, type = 7)
    w <- pmin(pmax(w, q[1]), q[2])
  }
  dd$w <- w
  out <- c()
  for (ep in c("PFS", "OS")) {
    time <- dd[[paste0(tolower(ep), "_time")]]; event <- dd[[paste0(tolower(ep), "_event")]]
    both <- any(t1) && any(!t1)
    log_hr <- NA
    if (both && any(event[t1] == 1) && any(event[!t1] == 1)) {
      cf <- coxph(Surv(time, event) ~ treated, data = data.frame(time, event, treated = dd$treated, w),
                  weights = w, ties = ties)
      log_hr <- unname(coef(cf)[1])
    }
    fits <- lapply(c(1, 0), function(g) {
      sel <- dd$treated == g
      survfit(Surv(time[sel], event[sel]) ~ 1, weights = w[sel])
    })
    tau <- taus[[ep]]
    diff <- NA; ratio <- NA
    if (!is.na(tau)) {
      m <- sapply(fits, function(f) summary(f, rmean = tau)$table[["rmean"]])
      diff <- m[1] - m[2]; ratio <- log(m[1] / m[2])
    }
    surv_at <- function(f, mm) {
      s <- tryCatch(summary(f, times = mm, extend = FALSE), error = function(e) NULL)
      if (!is.null(s) && length(s$surv) == 1) s$surv else NA
    }
    sd <- sapply(landmarks, function(mm) surv_at(fits[[1]], mm) - surv_at(fits[[2]], mm))
    out <- c(out, log_hr, diff, ratio, sd)
  }
  out
}

t0 <- statistic(d)
t <- t(apply(idx, 1, function(i) statistic(d[i, ])))
write.csv(t, file.path(out_dir, "t.csv"), row.names = FALSE)
write.csv(data.frame(t0 = t0), file.path(out_dir, "t0.csv"), row.names = FALSE)

bo <- list(t0 = t0, t = t, R = nrow(t), data = d, seed = 0L, statistic = function(x, i) 0,
           sim = "ordinary", stype = "i", call = quote(boot()), strata = d$treated,
           weights = rep(1 / nrow(d), nrow(d)))
class(bo) <- "boot"
rows <- list()
for (j in seq_along(t0)) {
  ci <- suppressWarnings(boot.ci(bo, conf = conf_level, type = c("norm", "perc"), index = j))
  rows[[j]] <- data.frame(j = j, normal_lower = ci$normal[2], normal_upper = ci$normal[3],
                          percentile_lower = ci$percent[4], percentile_upper = ci$percent[5])
}
write.csv(do.call(rbind, rows), file.path(out_dir, "boot_ci.csv"), row.names = FALSE)
