# R survival's own hand-computed test cases (therneau/survival tests/book1-6.R, infcox.R,
# singtest.R, testnull.R, doaml.R, difftest.R, quantile.R,
# doweight.R, concordance.R, zph.R, testci.R), fitted live by R on the same data rwe fits in
# tests/test_survival_book.py. Writes <out>/book.csv (case, quantity, value) and the data sets of
# R's survival package the cases use (bladder, bladder2, aml, lung) as CSV files in <out>.
# Usage: Rscript survival_book.R <out>
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
dir.create(out, showWarnings = FALSE, recursive = TRUE)
rows <- list()
put <- function(case, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, quantity = quantity, value = as.numeric(value))
}
quiet <- function(expr) suppressWarnings(expr)

test1 <- data.frame(time = c(9, 3, 1, 1, 6, 6, 8), status = c(1, NA, 1, 0, 1, 1, 0),
                    x = c(0, 2, 1, 1, 1, 0, 0))
test2 <- data.frame(start = c(1, 2, 5, 2, 1, 7, 3, 4, 8, 8), stop = c(2, 3, 6, 7, 8, 9, 9, 9, 14, 17),
                    event = c(1, 1, 1, 1, 1, 1, 1, 0, 0, 0), x = c(1, 0, 0, 1, 0, 1, 1, 1, 0, 0))
test2b <- rbind(test2, test2, test2)
test2b$group <- rep(1:3, each = nrow(test2))
test2b$start <- test2b$start + test2b$group
test2b$stop <- test2b$stop + test2b$group
testw1 <- data.frame(time = c(1, 1, 2, 2, 2, 2, 3, 4, 5), status = c(1, 0, 1, 1, 1, 0, 0, 1, 0),
                     x = c(2, 0, 1, 1, 0, 1, 0, 1, 0), wt = c(1, 2, 3, 4, 3, 2, 1, 2, 1))

cox_cases <- function(case, formula, data, ties, w = NULL) {
  environment(formula) <- environment()  # so that model.frame finds w
  fit0 <- quiet(coxph(formula, data, ties = ties, iter.max = 0, weights = w))
  put(case, "loglik(0)", fit0$loglik[1])
  put(case, "var(0)", fit0$var)
  put(case, "score test", fit0$score)
  fit1 <- quiet(coxph(formula, data, ties = ties, iter.max = 1, weights = w))
  put(case, "coef, iter.max = 1", coef(fit1))
  fit2 <- quiet(coxph(formula, data, ties = ties, iter.max = 2, weights = w))
  put(case, "coef, iter.max = 2", coef(fit2))
  fit <- coxph(formula, data, ties = ties, eps = 1e-8, weights = w)
  put(case, "coef", coef(fit))
  put(case, "loglik", fit$loglik[2])
  put(case, "var", fit$var)
}
# book1, book2: data set 1 (one missing status), Breslow and Efron
cox_cases("book1", Surv(time, status) ~ x, test1, "breslow")
cox_cases("book2", Surv(time, status) ~ x, test1, "efron")
km <- survfit(Surv(time, status) ~ 1, test1)
for (t in c(1, 6, 9)) {
  s <- summary(km, times = t)
  put("book1 KM", sprintf("surv(%g)", t), s$surv)
  put("book1 KM", sprintf("n.risk(%g)", t), s$n.risk)
}
put("book1 KM", "std.err(6), log scale", km$std.err[km$time == 6])
put("book1 log-rank", "chisq, x = 0 vs 1", survdiff(Surv(time, status) ~ x, test1)$chisq)
# book3, book4: data set 2 (counting process), Breslow and Efron; and 3 strata of it
cox_cases("book3", Surv(start, stop, event) ~ x, test2, "breslow")
cox_cases("book4", Surv(start, stop, event) ~ x, test2, "efron")
cox_cases("book3 strata", Surv(start, stop, event) ~ x + strata(group), test2b, "breslow")
cox_cases("book4 strata", Surv(start, stop, event) ~ x + strata(group), test2b, "efron")
# book5, book6: case weights, Breslow and Efron
cox_cases("book5", Surv(time, status) ~ x, testw1, "breslow", w = testw1$wt)
cox_cases("book6", Surv(time, status) ~ x, testw1, "efron", w = testw1$wt)

# infcox: two coefficients to -infinity
test3 <- data.frame(futime = 1:12, fustat = c(1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0),
                    x1 = rep(0:1, 6), x2 = c(rep(0, 6), rep(1, 6)))
fit3 <- quiet(coxph(Surv(futime, fustat) ~ x1 + x2, test3, iter.max = 25))
put("infcox", "coef x1", coef(fit3)[1])
put("infcox", "coef x2", coef(fit3)[2])
put("infcox", "loglik(0)", fit3$loglik[1])
put("infcox", "loglik", fit3$loglik[2])
put("infcox", "iter", fit3$iter)
# a continuous covariate that orders the deaths: out of iterations (R warns)
mono <- data.frame(time = 1:20, event = rep(c(1, 0), 10))
mono$x <- mono$event * (30 - mono$time) / 10
fitm <- quiet(coxph(Surv(time, event) ~ x, mono))
put("monotone", "coef, out of iterations", coef(fitm))
put("monotone", "iter", fitm$iter)

# singtest: x * factor(epoch), coefficients 2:4 aliased (NA)
test1s <- data.frame(time = c(4, 3, 1, 1, 2, 2, 3), status = c(1, NA, 1, 0, 1, 1, 0),
                     x = c(0, 2, 1, 1, 1, 0, 0))
temp <- rep(0:3, rep(7, 4))
stest <- data.frame(start = 10 * temp, stop = 10 * temp + test1s$time,
                    status = rep(test1s$status, 4), x = c(test1s$x + 1:7, rep(test1s$x, 3)),
                    epoch = rep(1:4, rep(7, 4)))
fits <- coxph(Surv(start, stop, status) ~ x * factor(epoch), stest)
for (j in seq_along(coef(fits))) put("singtest", sprintf("coef %d", j), coef(fits)[j])
put("singtest", "loglik", fits$loglik[2])

# testnull: a null model with strata; its log-likelihood is that of rx at 0
fitn <- coxph(Surv(stop, event) ~ strata(number), bladder)
put("testnull", "loglik, right-censored", fitn$loglik)
fitn2 <- coxph(Surv(start, stop, event) ~ strata(number), bladder2)
put("testnull", "loglik, counting process", fitn2$loglik)
write.csv(bladder[, c("stop", "event", "rx", "number")], file.path(out, "bladder.csv"), row.names = FALSE)
write.csv(bladder2[, c("start", "stop", "event", "rx", "number")], file.path(out, "bladder2.csv"),
          row.names = FALSE)

# doaml.R: the aml data, Breslow ties; survdiff; a weight of 2 for everyone
fita <- coxph(Surv(time, status) ~ x, aml, method = "breslow")
put("doaml", "coef", coef(fita))
put("doaml", "loglik", fita$loglik[2])
put("doaml", "var", fita$var)
put("doaml", "log-rank chisq", survdiff(Surv(time, status) ~ x, aml)$chisq)
km1 <- survfit(Surv(time, status) ~ 1, aml)
km2 <- survfit(Surv(time, status) ~ 1, aml, weights = rep(2, 23))
put("doaml", "surv at the last event, weights 2", km2$surv[max(which(km2$n.event > 0))])
put("doaml", "std.err^2 ratio, weights 1 to 2",
    km1$std.err[max(which(km1$n.event > 0))]^2 / km2$std.err[max(which(km2$n.event > 0))]^2)
write.csv(aml, file.path(out, "aml.csv"), row.names = FALSE)

# difftest.R: a third group with no events (aml3); stratified survdiff on lung (with missing
# pat.karno) against the Cox score test at 0
aml3 <- data.frame(time = c(9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161, 5, 5, 8, 8, 12, 16, 23,
                            27, 30, 33, 43, 45, 1, 2, 2, 3, 3, 3, 4),
                   status = c(1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1,
                              0, 0, 0, 0, 0, 0, 0),
                   x = c(rep("Maintained", 11), rep("Nonmaintained", 12), rep("Dummy", 7)))
put("difftest", "aml3 log-rank chisq", survdiff(Surv(time, status) ~ x, aml3)$chisq)
fitd <- survdiff(Surv(time, status) ~ pat.karno + strata(inst), lung)
put("difftest", "lung stratified log-rank chisq", fitd$chisq)
cfit <- coxph(Surv(time, status) ~ factor(pat.karno) + strata(inst), lung, iter.max = 0)
put("difftest", "lung Cox score test at 0", cfit$score)
write.csv(lung[, c("time", "status", "pat.karno", "inst")], file.path(out, "lung.csv"),
          row.names = FALSE)

# doweight.R: case weights are replicated rows (Breslow ties)
testw2 <- testw1[rep(1:9, testw1$wt), ]
fitw <- coxph(Surv(time, status) ~ x, testw1, weights = wt, ties = "breslow")
fitr <- coxph(Surv(time, status) ~ x, testw2, ties = "breslow")
put("doweight", "coef, weights", coef(fitw))
put("doweight", "loglik, weights", fitw$loglik[2])
put("doweight", "var, weights", fitw$var)
put("doweight", "coef, replicated rows", coef(fitr))

# concordance.R: Harrell's C of a risk score (reverse = TRUE: a higher x, a shorter time)
tdata <- aml[aml$x == "Maintained", c("time", "status")]
tdata$x <- c(1, 6, 2, 7, 3, 7, 3, 8, 4, 4, 5)
tdata$wt <- c(1, 2, 3, 2, 1, 2, 3, 4, 3, 2, 1)
put("concordance", "C", concordance(Surv(time, status) ~ x, tdata, reverse = TRUE)$concordance)
put("concordance", "C, weighted",
    concordance(Surv(time, status) ~ x, tdata, weights = wt, reverse = TRUE)$concordance)

# zph.R: the score test of cox.zph, here with R's default transform ("km")
for (ties in c("breslow", "efron")) {
  zfit <- coxph(Surv(time, status) ~ x, test1, ties = ties)
  put("zph", sprintf("chisq, %s, km transform", ties),
      cox.zph(zfit, transform = "km", global = FALSE)$table[1, 1])
}

# testci.R: Aalen-Johansen probabilities of two competing events and their standard errors
tci <- data.frame(time = c(1, 2, 2, 3, 3, 3, 5, 6), status = c(0, 1, 0, 1, 0, 1, 0, 1),
                  event = c(1, 1, 2, 2, 1, 2, 3, 2))
aj <- survfit(Surv(time, factor(status * event)) ~ 1, tci)
for (cause in 1:2) for (t in c(2, 3, 6)) {
  put("testci", sprintf("probability of event %d at %g", cause, t), aj$pstate[aj$time == t, cause + 1])
  put("testci", sprintf("std.err of event %d at %g", cause, t), aj$std.err[aj$time == t, cause + 1])
}

# quantile.R: quantiles of a Kaplan-Meier curve and their CI, overall and by x
test1q <- rbind(test1, data.frame(time = 10, status = 0, x = 0))
qq <- c(13/14, 6/7, 2/3, .5, 9/35, .1)
labels <- c("13/14", "6/7", "2/3", "1/2", "9/35", "1/10")
quantile_rows <- function(case, fit) {
  q <- quantile(fit, 1 - qq)
  for (k in c("quantile", "lower", "upper")) for (i in seq_along(qq)) {
    put(case, sprintf("%s, p = 1 - %s", k, labels[i]), q[[k]][i])
  }
}
quantile_rows("quantile", survfit(Surv(time, status) ~ 1, test1q))
quantile_rows("quantile x = 0", survfit(Surv(time, status) ~ 1, test1q[test1q$x == 0, ]))
quantile_rows("quantile x = 1", survfit(Surv(time, status) ~ 1, test1q[test1q$x == 1, ]))

write.csv(do.call(rbind, rows), file.path(out, "book.csv"), row.names = FALSE)
