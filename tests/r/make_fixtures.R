# Reference results from R's survival and maxstat packages (and stats::wilcox.test) for
# netpet.stats.
#
# Usage:
#   Rscript tests/r/make_fixtures.R --out tests/fixtures/r
#       built-in cases: survival::lung, survival::veteran, maxstat::DLBCL and two small
#       hand-made data sets (tied times; a dichotomy with a zero-event group), and the
#       hand-made paired samples of the Wilcoxon signed-rank test ("wilcoxon");
#       --cases ties,zero_event,wilcoxon restricts to some of them (manifest then not written).
#   Rscript tests/r/make_fixtures.R --out DIR --input patients.tsv --name synthetic \
#       --time pfs_months --event progression --predictors wtv_ml_change_interim_pct,... \
#       [--adjust who_grade] [--minprop 0.1] [--times 6,12,18]
#       any patients table (TSV, one row per patient).
#
# For every case NAME the script writes into DIR:
#   NAME_data.tsv      the data used (time, event, predictors, adjuster), so Python reads the
#                      very same numbers
#   NAME_maxstat.tsv   maxstat.test(smethod = "LogRank"): cut-point, statistic, n_low, n_high,
#                      p-values Lau92, Lau94, exactGauss (with the pmvnorm error), condMC
#   NAME_curves.tsv    standardised statistic at every candidate cut-point
#   NAME_survdiff.tsv  survdiff() at the chosen cut (low = x <= cut, high = x > cut)
#   NAME_survfit.tsv   survfit(conf.type = "log") summaries at fixed times, overall and by group
#   NAME_quantile.tsv  quantile(survfit(conf.type = "log"), c(0.25, 0.5, 0.75)) with CI: overall,
#                      reverse Kaplan-Meier (censoring as event: follow-up) and by group
#   NAME_cox.tsv       coxph(ties = "efron"), continuous and dichotomised, univariate and adjusted:
#                      coef, se, HR, 95 % Wald CI, Wald p, LR p, concordance, cox.zph global p
# and, for "wilcoxon":
#   wilcoxon_data.tsv  the paired samples (case, before, after)
#   wilcoxon.tsv       wilcox.test(after, before, paired = TRUE): statistic V, p, method
# Random steps (pmvnorm, condMC) are seeded, so reruns give identical files.

suppressPackageStartupMessages({
  library(survival)
  library(maxstat)
  library(mvtnorm)
})

parse_args <- function(argv) {
  opts <- list(out = NULL, input = NULL, name = "custom", time = "time", event = "event",
               predictors = NULL, adjust = NULL, minprop = "0.1", times = NULL,
               n_perm = "100000", cases = NULL)
  i <- 1
  while (i <= length(argv)) {
    key <- sub("^--", "", argv[i])
    key <- gsub("-", "_", key)
    if (!key %in% names(opts)) stop("unknown option ", argv[i])
    opts[[key]] <- argv[i + 1]
    i <- i + 2
  }
  if (is.null(opts$out)) stop("--out DIR is required")
  opts
}

fmt <- function(x) {
  if (is.numeric(x)) {
    out <- sprintf("%.15g", x)
    out[is.na(x)] <- "NA"
    out
  } else {
    x
  }
}

write_tsv <- function(df, path) {
  df[] <- lapply(df, fmt)
  write.table(df, path, sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")
}

# Exact Gaussian p: Miwa's algorithm (near exact, cost exponential in the dimension) for up to
# 6 cut-points; beyond, Genz-Bretz with a tight tolerance and many points (error reported).
exact_gauss <- function(stat, x_sorted, minprop, maxprop) {
  cm <- corrmsrs(x_sorted, minprop, maxprop)
  k <- if (is.null(dim(cm))) 1 else nrow(cm)
  set.seed(20240101)
  if (k == 1) {
    return(list(p = 2 * pnorm(-stat), err = 0, algorithm = "normal"))
  }
  if (k <= 6) {
    p <- pmvnorm(lower = rep(-stat, k), upper = rep(stat, k), corr = cm,
                 algorithm = Miwa(steps = 4096))
    return(list(p = 1 - as.numeric(p), err = attr(p, "error"), algorithm = "Miwa"))
  }
  p <- pmvnorm(lower = rep(-stat, k), upper = rep(stat, k), corr = cm,
               algorithm = GenzBretz(maxpts = 2e6, abseps = 1e-6, releps = 0))
  list(p = 1 - as.numeric(p), err = attr(p, "error"), algorithm = "GenzBretz")
}

cox_row <- function(fit, fit0, term, predictor, coding, covariates) {
  s <- summary(fit)
  cf <- s$coefficients
  ci <- s$conf.int
  zph <- tryCatch(cox.zph(fit), error = function(e) NULL)
  zph_p <- if (is.null(zph)) NA else zph$table["GLOBAL", "p"]
  loglik0 <- if (is.null(fit0)) fit$loglik[1] else fit0$loglik[length(fit0$loglik)]
  lr <- 2 * (fit$loglik[2] - loglik0)
  data.frame(
    predictor = predictor, coding = coding, covariates = covariates,
    n = fit$n, events = fit$nevent,
    coef = cf[term, "coef"], se = cf[term, "se(coef)"], hr = ci[term, "exp(coef)"],
    ci_low = ci[term, "lower .95"], ci_high = ci[term, "upper .95"],
    p_wald = cf[term, "Pr(>|z|)"], p_lr = pchisq(lr, df = 1, lower.tail = FALSE),
    loglik = fit$loglik[2],
    concordance = unname(fit$concordance["concordance"]), ph_p = zph_p,
    stringsAsFactors = FALSE
  )
}

# Quartiles of survival time with their "log" CIs (NA: not reached), as quantile.survfit.
quantile_row <- function(fit, predictor, minprop, group) {
  probs <- c(0.25, 0.5, 0.75)
  q <- quantile(fit, probs = probs)
  data.frame(predictor = predictor, minprop = minprop, group = group, p = probs,
             quantile = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper),
             stringsAsFactors = FALSE)
}

run_case <- function(name, data, predictors, adjust, minprops, times, n_perm, out) {
  # Patients without follow-up cannot enter any survival analysis (R would drop them per model).
  data <- data[!is.na(data$time) & !is.na(data$event), ]
  data$event <- as.integer(data$event)
  if (!is.null(adjust)) data[[adjust]] <- as.character(data[[adjust]])
  write_tsv(data, file.path(out, paste0(name, "_data.tsv")))
  maxstat_rows <- list()
  curve_rows <- list()
  survdiff_rows <- list()
  survfit_rows <- list()
  quantile_rows <- list()
  cox_rows <- list()
  if (is.null(times)) {
    times <- unname(quantile(data$time, c(0.25, 0.5, 0.75), type = 1))
  }
  fit_all <- survfit(Surv(time, event) ~ 1, data = data, conf.type = "log")
  sm <- summary(fit_all, times = times, extend = TRUE)
  survfit_rows[[length(survfit_rows) + 1]] <- data.frame(
    predictor = "", minprop = NA, group = "all", time = sm$time, n_risk = sm$n.risk,
    surv = sm$surv, std_err = sm$std.err, lower = sm$lower, upper = sm$upper)
  quantile_rows[[1]] <- quantile_row(fit_all, "", NA, "all")
  fit_reverse <- survfit(Surv(time, 1 - event) ~ 1, data = data, conf.type = "log")
  quantile_rows[[2]] <- quantile_row(fit_reverse, "", NA, "reverse")
  for (pred in predictors) {
    d <- data[!is.na(data[[pred]]), ]
    d$x <- d[[pred]]
    keep_adjust <- !is.null(adjust)
    if (keep_adjust) d <- d[!is.na(d[[adjust]]), ]
    for (minprop in minprops) {
      maxprop <- 1 - minprop
      mt <- function(pm, ...) {
        maxstat.test(Surv(time, event) ~ x, data = d, smethod = "LogRank", pmethod = pm,
                     minprop = minprop, maxprop = maxprop, ...)
      }
      m92 <- mt("Lau92")
      m94 <- mt("Lau94")
      eg <- exact_gauss(m92$statistic, sort(d$x), minprop, maxprop)
      set.seed(20240102)
      mmc <- mt("condMC", B = n_perm)
      cut <- unname(m92$estimate)
      d$high <- as.integer(d$x > cut)
      maxstat_rows[[length(maxstat_rows) + 1]] <- data.frame(
        predictor = pred, minprop = minprop, maxprop = maxprop, n = nrow(d),
        cutpoint = cut, statistic = unname(m92$statistic),
        n_low = sum(d$x <= cut), n_high = sum(d$x > cut),
        p_lau92 = m92$p.value, p_lau94 = m94$p.value,
        p_exact = eg$p, p_exact_error = eg$err, p_exact_algorithm = eg$algorithm,
        p_condmc = mmc$p.value, n_permutations = n_perm, n_candidates = length(m92$cuts),
        stringsAsFactors = FALSE)
      curve_rows[[length(curve_rows) + 1]] <- data.frame(
        predictor = pred, minprop = minprop, candidate = m92$cuts, statistic = m92$stats)
      sd <- survdiff(Surv(time, event) ~ high, data = d)
      survdiff_rows[[length(survdiff_rows) + 1]] <- data.frame(
        predictor = pred, minprop = minprop, cutpoint = cut, chisq = sd$chisq,
        df = length(sd$n) - 1, p = pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE),
        observed_low = sd$obs[1], expected_low = sd$exp[1],
        observed_high = sd$obs[2], expected_high = sd$exp[2])
      fit_g <- survfit(Surv(time, event) ~ high, data = d, conf.type = "log")
      for (g in 0:1) {
        sm <- summary(fit_g[g + 1], times = times, extend = TRUE)
        survfit_rows[[length(survfit_rows) + 1]] <- data.frame(
          predictor = pred, minprop = minprop, group = c("low", "high")[g + 1],
          time = sm$time, n_risk = sm$n.risk, surv = sm$surv, std_err = sm$std.err,
          lower = sm$lower, upper = sm$upper)
        quantile_rows[[length(quantile_rows) + 1]] <- quantile_row(
          fit_g[g + 1], pred, minprop, c("low", "high")[g + 1])
      }
      if (minprop != minprops[1]) next
      # Cox models (only for the first minprop: the dichotomy uses its cut-point).
      for (coding in c("continuous", "dichotomised")) {
        term <- if (coding == "continuous") "x" else "high"
        f1 <- suppressWarnings(coxph(as.formula(paste("Surv(time, event) ~", term)),
                                     data = d, ties = "efron"))
        cox_rows[[length(cox_rows) + 1]] <- cox_row(f1, NULL, term, pred, coding, "")
        if (keep_adjust) {
          fa <- as.formula(paste0("Surv(time, event) ~ ", term, " + factor(", adjust, ")"))
          f2 <- suppressWarnings(coxph(fa, data = d, ties = "efron"))
          f0 <- coxph(as.formula(paste0("Surv(time, event) ~ factor(", adjust, ")")),
                      data = d, ties = "efron")
          cox_rows[[length(cox_rows) + 1]] <- cox_row(f2, f0, term, pred, coding, adjust)
        }
      }
    }
  }
  write_tsv(do.call(rbind, maxstat_rows), file.path(out, paste0(name, "_maxstat.tsv")))
  write_tsv(do.call(rbind, curve_rows), file.path(out, paste0(name, "_curves.tsv")))
  write_tsv(do.call(rbind, survdiff_rows), file.path(out, paste0(name, "_survdiff.tsv")))
  write_tsv(do.call(rbind, survfit_rows), file.path(out, paste0(name, "_survfit.tsv")))
  write_tsv(do.call(rbind, quantile_rows), file.path(out, paste0(name, "_quantile.tsv")))
  write_tsv(do.call(rbind, cox_rows), file.path(out, paste0(name, "_cox.tsv")))
  data.frame(name = name, n = nrow(data), predictors = paste(predictors, collapse = ","),
             adjust = if (is.null(adjust)) "" else adjust,
             minprop = paste(minprops, collapse = ","), times = paste(times, collapse = ","),
             stringsAsFactors = FALSE)
}

builtin_cases <- function() {
  lung_d <- with(survival::lung, data.frame(
    time = time, event = status - 1, age = age, ph_karno = ph.karno, meal_cal = meal.cal,
    sex = c("male", "female")[sex]))
  vet <- with(survival::veteran, data.frame(
    time = time, event = status, karno = karno, diagtime = diagtime,
    celltype = as.character(celltype)))
  data(DLBCL, package = "maxstat", envir = environment())
  dl <- with(DLBCL, data.frame(time = time, event = cens, MGE = MGE, IPI = IPI,
                               GEG = as.character(GEG)))
  ties <- data.frame(
    time = c(2, 3, 3, 5, 5, 5, 7, 8, 8, 10, 12, 12, 14, 15, 15, 18),
    event = c(1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0),
    x = c(1.2, 0.5, 2.0, 1.2, 3.1, 0.5, 2.2, 1.2, 0.9, 2.0, 3.1, 1.5, 0.7, 2.5, 1.5, 0.3),
    change_pct = c(-35, -10, 12, -21, -5, -48, 3, -15, -22, 8, 25, -30, -60, 0, -12, -40),
    grade = c("G2", "G1", "G3", "G2", "G3", "G1", "G2", "G2", "G1", "G2", "G3", "G1", "G1",
              "G2", "G2", "G1"))
  zero <- data.frame(
    time = c(20, 22, 18, 25, 19, 24, 5, 7, 3, 9, 4, 6),
    event = c(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1),
    x = c(-50, -45, -40, -35, -30, -25, -10, -5, 0, 5, 10, 20),
    grade = c("G1", "G2", "G1", "G2", "G1", "G2", "G2", "G1", "G2", "G2", "G1", "G2"))
  list(
    list(name = "lung", data = lung_d, predictors = c("age", "ph_karno", "meal_cal"),
         adjust = "sex", minprops = c(0.1, 0.25), times = c(180, 365, 540)),
    list(name = "veteran", data = vet, predictors = c("karno", "diagtime"),
         adjust = "celltype", minprops = c(0.1), times = c(30, 90, 180)),
    list(name = "dlbcl", data = dl, predictors = c("MGE", "IPI"), adjust = "GEG",
         minprops = c(0.1, 0.2), times = c(12, 36, 60)),
    list(name = "ties", data = ties, predictors = c("x", "change_pct"), adjust = "grade",
         minprops = c(0.1, 0.05), times = c(5, 8, 12)),
    list(name = "zero_event", data = zero, predictors = c("x"), adjust = "grade",
         minprops = c(0.1), times = c(5, 10, 20))
  )
}

# Paired samples for wilcox.test(paired = TRUE): the exact test, tied differences (normal
# approximation with tie and continuity corrections), a zero difference (R then leaves the exact
# test), a missing value (the pair is dropped) and 60 pairs (normal approximation).
wilcoxon_cases <- function() {
  list(
    list(case = "exact", before = c(10, 20, 30, 40, 50, 60), after = c(12, 15, 33, 20, 40, 66)),
    list(case = "ties", before = rep(0, 6), after = c(1, 2, 2, 3, -1, 4)),
    list(case = "zero_difference", before = c(10, 20, 30, 40, 50, 60, 70),
         after = c(10, 21.5, 28, 43.25, 54, 59.5, 76)),
    list(case = "missing_pair", before = c(5, NA, 7, 9, 11, 13),
         after = c(6, 4, NA, 11.5, 8, 19)),
    list(case = "sixty_pairs", before = as.numeric(1:60),
         after = 1:60 + (1:60) * (-1)^(1:60) * 0.5)
  )
}

run_wilcoxon <- function(out) {
  data_rows <- list()
  rows <- list()
  for (cs in wilcoxon_cases()) {
    data_rows[[length(data_rows) + 1]] <- data.frame(
      case = cs$case, before = cs$before, after = cs$after, stringsAsFactors = FALSE)
    w <- suppressWarnings(wilcox.test(cs$after, cs$before, paired = TRUE))
    rows[[length(rows) + 1]] <- data.frame(
      case = cs$case, statistic = unname(w$statistic), p = w$p.value, method = w$method,
      stringsAsFactors = FALSE)
  }
  write_tsv(do.call(rbind, data_rows), file.path(out, "wilcoxon_data.tsv"))
  write_tsv(do.call(rbind, rows), file.path(out, "wilcoxon.tsv"))
}

main <- function() {
  opts <- parse_args(commandArgs(trailingOnly = TRUE))
  dir.create(opts$out, showWarnings = FALSE, recursive = TRUE)
  n_perm <- as.integer(opts$n_perm)
  minprops <- as.numeric(strsplit(opts$minprop, ",")[[1]])
  times <- if (is.null(opts$times)) NULL else as.numeric(strsplit(opts$times, ",")[[1]])
  if (is.null(opts$input)) {
    cases <- builtin_cases()
    wanted <- c(vapply(cases, function(cs) cs$name, ""), "wilcoxon")
    if (!is.null(opts$cases)) {
      wanted <- strsplit(opts$cases, ",")[[1]]
      cases <- Filter(function(cs) cs$name %in% wanted, cases)
    }
    if ("wilcoxon" %in% wanted) run_wilcoxon(opts$out)
  } else {
    raw <- read.delim(opts$input, check.names = FALSE, stringsAsFactors = FALSE)
    preds <- strsplit(opts$predictors, ",")[[1]]
    cols <- c(opts$time, opts$event, preds, opts$adjust)
    missing <- setdiff(cols, names(raw))
    if (length(missing)) stop(opts$input, ": missing column(s) ", paste(missing, collapse = ", "))
    d <- raw[, cols, drop = FALSE]
    names(d)[1:2] <- c("time", "event")
    if ("patient_id" %in% names(raw)) d <- cbind(patient_id = raw$patient_id, d)
    cases <- list(list(name = opts$name, data = d, predictors = preds, adjust = opts$adjust,
                       minprops = minprops, times = times))
  }
  if (!length(cases)) return(invisible(NULL))
  rows <- lapply(cases, function(cs) {
    run_case(cs$name, cs$data, cs$predictors, cs$adjust, cs$minprops, cs$times, n_perm,
             opts$out)
  })
  manifest <- do.call(rbind, rows)
  manifest$r_version <- paste(R.version$major, R.version$minor, sep = ".")
  manifest$survival_version <- as.character(packageVersion("survival"))
  manifest$maxstat_version <- as.character(packageVersion("maxstat"))
  manifest$mvtnorm_version <- as.character(packageVersion("mvtnorm"))
  if (is.null(opts$input) && is.null(opts$cases)) {
    write_tsv(manifest, file.path(opts$out, "cases.tsv"))
  } else if (!is.null(opts$input)) {
    write_tsv(manifest, file.path(opts$out, paste0(opts$name, "_case.tsv")))
  }
}

main()
