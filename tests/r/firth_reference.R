# Reference values for rwe.firth.firth_cox: Firth-penalised Cox regression (Heinze & Schemper
# 2001) computed from R's own coxph, without coxphf (not in Debian).
#
# The penalised log-likelihood at beta is l(beta) + 0.5 log det I(beta), where coxph evaluated at
# beta without iterating (init = beta, iter.max = 0) gives l(beta) as loglik[2] and I(beta)^-1 as
# var. It is maximised with optim (BFGS, then Nelder-Mead to polish); the profile penalised
# likelihood CI of each coefficient is where 2 (l*max - l*profile(b)) = qchisq(conf, 1), found
# by uniroot; p is the penalised likelihood-ratio test of the coefficient = 0 (as
# coxphf(pl = TRUE)).
#
# Usage: Rscript firth_reference.R DATA_DIR OUT_FILE
# DATA_DIR holds specs.csv (name, data, covariates as "x1+x2", ties, strata 0/1, conf_level)
# and the data sets it names (<data>.csv with time, event, x1, x2, ..., strat).
# Writes OUT_FILE: name, term, coef, hr, ci_lower, ci_upper, p.
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
data_dir <- args[1]; out_file <- args[2]
specs <- read.csv(file.path(data_dir, "specs.csv"), stringsAsFactors = FALSE)

penalised <- function(beta, d, terms, ties, strata) {
  rhs <- paste(terms, collapse = " + ")
  if (strata == 1) rhs <- paste(rhs, "+ strata(strat)")
  fit <- suppressWarnings(coxph(as.formula(paste("Surv(time, event) ~", rhs)), data = d,
    ties = ties, init = beta, control = coxph.control(iter.max = 0)))
  info <- solve(fit$var)
  fit$loglik[2] + 0.5 * as.numeric(determinant(info, logarithm = TRUE)$modulus)
}

maximise <- function(f, start) {
  if (length(start) == 0) return(list(par = start, value = f(start)))
  if (length(start) == 1) {  # profiles of two-coefficient models: one-dimensional
    o <- optimize(function(b) -f(b), c(start - 10, start + 10), tol = 1e-12)
    return(list(par = o$minimum, value = -o$objective))
  }
  o <- optim(start, function(b) -f(b), method = "BFGS",
             control = list(reltol = 1e-15, maxit = 2000))
  o <- optim(o$par, function(b) -f(b), method = "Nelder-Mead",
             control = list(reltol = 1e-15, maxit = 5000))
  list(par = o$par, value = -o$value)
}

out <- list()
for (i in seq_len(nrow(specs))) {
  s <- specs[i, ]
  d <- read.csv(file.path(data_dir, paste0(s$data, ".csv")))
  terms <- strsplit(s$covariates, "+", fixed = TRUE)[[1]]
  p <- length(terms)
  f <- function(beta) penalised(beta, d, terms, s$ties, s$strata)
  best <- maximise(f, rep(0, p))
  cut <- qchisq(s$conf_level, 1) / 2
  profile <- function(r, b) {
    g <- function(others) { beta <- numeric(p); beta[r] <- b; beta[-r] <- others; f(beta) }
    maximise(g, best$par[-r])$value
  }
  for (r in seq_len(p)) {
    drop <- function(b) best$value - profile(r, b) - cut
    limit <- function(side) {
      reach <- 0.1
      while (reach <= 50) {
        b <- best$par[r] + side * reach
        if (drop(b) > 0) {
          return(uniroot(drop, sort(c(best$par[r], b)), tol = 1e-10)$root)
        }
        reach <- reach * 2
      }
      NA
    }
    stat <- 2 * (best$value - profile(r, 0))
    out[[length(out) + 1]] <- data.frame(name = s$name, term = terms[r], coef = best$par[r],
      hr = exp(best$par[r]), ci_lower = exp(limit(-1)), ci_upper = exp(limit(1)),
      p = pchisq(max(stat, 0), 1, lower.tail = FALSE))
  }
}
write.csv(do.call(rbind, out), out_file, row.names = FALSE)
