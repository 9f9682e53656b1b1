/* Whole-run kernel of an ``hh`` cell for the torch backend's CPU fast path.
 *
 * Executes, for every parameter set x sweep ("element"), every step of a run with the data
 * that celegans.torchsim.hh_fused prepares (voltage tables of inf and exp(-dt/tau), the gating
 * products as index/weight/power lists, conductances and reversal potentials per element).
 * It is the same arithmetic, in the same order, as the fused torch step
 * (hh_fused.current / hh_fused.update_gates / HHCellTorch.update and
 * integrator._step): NEURON's staggered scheme, linearised backward Euler for V, exponential
 * Euler for the gates at the new V, calcium pool or shell after the gates.
 *
 * The difference is the loop order: one element at a time through all its steps, its state
 * in registers/L1, so a run costs no per-step dispatch and no memory traffic besides the
 * table rows near the current voltage and the recorded samples. Elements are independent:
 * OpenMP splits them over threads.
 *
 * Built on first use by celegans/torchsim/native_hh.py (cached by the hash of this file).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#define HH_MAX_GATES 128
#define HH_MAX_CHANNELS 64

/* kinds of gates computed from their rate functions (they read bulk calcium) */
#define DIRECT_KCNL 1    /* c: [kd (mM), exp(-dt/tau)] */
#define DIRECT_SLO_ISO 2 /* c: [s0, log(wom/wop), kxy, nxy, kyx, nyx, wxy, 1/wop, tau_scale] */
#define N_DIRECT_CONST 10

/* calcium handling */
#define CA_NONE 0  /* ca_par rows: [ca_bg] */
#define CA_POOL 1  /* ca_par rows: [f, F, volume_um3, ca_bg, tau] */
#define CA_SHELL 2 /* ca_par rows: [F, depth, area_um2, beta, ca_min] */

/* recorded variables */
#define REC_V (-1)
#define REC_I (-2)
#define REC_CA (-3)

typedef struct {
    int64_t N;           /* elements (B * S), element n has sweep n % S */
    int64_t S;           /* sweeps */
    int64_t n_steps;     /* steps of this call */
    int64_t t0;          /* first column of drive (steps already done) */
    int64_t drive_len;   /* columns of drive */
    int64_t every;       /* record every this many steps */
    int64_t rec_len;     /* samples per element in each recording buffer */
    int64_t rec_pos;     /* sample index of the first sample written by this call */
    double dt;
    int32_t G1;          /* packed gates, ONE included */
    int32_t n_tab;       /* tabled gates, ONE included */
    int32_t n_slo;       /* SLO complexes */
    int32_t n_direct;    /* direct gates */
    int32_t C;           /* channels */
    int32_t n_lin;       /* sum terms per channel */
    int32_t n_fac;       /* product factors per channel */
    int32_t W;           /* table width: [inf | F_slo | dec | dec_slo], differences follow */
    int32_t powers_one;  /* every power of the gating products is 1 */
    int64_t n_rows;      /* table rows */
    double vmin, inv_step;
    const double *table;     /* (n_rows, 2W) */
    const int64_t *slo_mult; /* (n_tab + n_slo,) column multiplying inf (ONE for tabled) */
    const int64_t *cols;     /* ((n_lin + n_fac) * C,) slot-major */
    const double *lin_pow, *lin_w; /* (n_lin, C) */
    const double *fac_pow;         /* (n_fac, C) or NULL */
    const double *is_ca;           /* (C,) */
    const double *gbar, *erev;     /* (C, N) */
    const double *cap;             /* (N,) pF */
    const int32_t *direct_kind;    /* (n_direct,) */
    const double *direct_const;    /* (n_direct, N_DIRECT_CONST) */
    int32_t calcium;
    const double *ca_par;          /* (rows, N), see CA_* */
    int32_t vclamp;
    double g_clamp;                /* nS */
    const double *drive;           /* (S, drive_len): pA, or mV under voltage clamp */
    double *v;                     /* (N,) in/out */
    double *x;                     /* (G1, N) in/out */
    double *ca;                    /* (N,) in/out, or NULL */
    int32_t n_record;
    const int32_t *rec_kind;       /* (n_record,) REC_* or a packed gate row */
    double *const *rec_out;        /* n_record buffers (N, rec_len) */
    double *bad;                   /* (N,) in/out: max |V| recorded, NaN if non-finite */
    int32_t n_threads;
} hh_args;

static inline double sig_up(double v, double vh, double k) {
    return 1.0 / (1.0 + exp(-(v - vh) / k));
}

static inline double bad_v(double bad, double av) {
    /* torch.maximum: NaN propagates */
    if (isnan(bad)) return bad;
    if (isnan(av) || av > bad) return av;
    return bad;
}

/* Up to LANES elements advance together, lane-innermost: independent dependency chains for
 * the out-of-order core and SIMD over lanes (one element alone is latency-bound). */
#define LANES 8
#define LANE for (int l = 0; l < LANES; ++l)

static void run_block(const hh_args *a, int64_t n0, int L) {
    const int64_t N = a->N;
    const int32_t G1 = a->G1, C = a->C, W = a->W, nl = a->n_lin, nf = a->n_fac;
    const int32_t nt = a->n_tab, m = a->n_tab + a->n_slo, nd = a->n_direct;
    const double dt = a->dt, vmin = a->vmin, inv_step = a->inv_step;
    const double umax = (double)(a->n_rows - 2);
    const double *restrict table = a->table;
    const int64_t *restrict cols = a->cols;
    const double *restrict lin_pow = a->lin_pow, *restrict lin_w = a->lin_w;
    const double *restrict fac_pow = a->fac_pow;
    const int vclamp = a->vclamp, calcium = a->calcium, powers_one = a->powers_one;
    const double g_clamp = a->g_clamp;
    int64_t idx[LANES];
    for (int l = 0; l < LANES; ++l) idx[l] = n0 + (l < L ? l : L - 1); /* pad: repeat last */

    double xs[HH_MAX_GATES][LANES];
    double gb[HH_MAX_CHANNELS][LANES], er[HH_MAX_CHANNELS][LANES];
    double v[LANES], ca[LANES], cap[LANES], cp[5][LANES], bad[LANES];
    const double *drv[LANES];
    int n_cp = calcium == CA_NONE ? 1 : 5;
    for (int32_t g = 0; g < G1; ++g) LANE xs[g][l] = a->x[(int64_t)g * N + idx[l]];
    for (int32_t c = 0; c < C; ++c) LANE {
        gb[c][l] = a->gbar[(int64_t)c * N + idx[l]];
        er[c][l] = a->erev[(int64_t)c * N + idx[l]];
    }
    for (int r = 0; r < n_cp; ++r) LANE cp[r][l] = a->ca_par[(int64_t)r * N + idx[l]];
    LANE {
        v[l] = a->v[idx[l]];
        ca[l] = a->ca ? a->ca[idx[l]] : 0.0;
        cap[l] = a->cap[idx[l]];
        bad[l] = a->bad[idx[l]];
        drv[l] = a->drive + (idx[l] % a->S) * a->drive_len + a->t0;
    }
    int64_t pos = a->rec_pos;
    int64_t until_rec = a->every;
    double i_clamp[LANES] = {0};
    int has_ca_ch = 0;
    for (int32_t c = 0; c < C; ++c) has_ca_ch |= a->is_ca[c] != 0.0;

    for (int64_t t = 0; t < a->n_steps; ++t) {
        /* currents at (V_n, x_n) */
        double itot[LANES] = {0}, gtot[LANES] = {0}, ica[LANES] = {0};
        for (int32_t c = 0; c < C; ++c) {
            double open[LANES];
            if (powers_one) { /* the usual case: no pow, products in registers */
                const double *x0 = xs[cols[c]];
                const double w0 = lin_w[c];
                LANE open[l] = x0[l] * w0;
                for (int32_t k = 1; k < nl; ++k) {
                    const double *xk = xs[cols[k * C + c]];
                    const double w = lin_w[k * C + c];
                    LANE open[l] += xk[l] * w;
                }
                for (int32_t j = 0; j < nf; ++j) {
                    const double *xj = xs[cols[(nl + j) * C + c]];
                    LANE open[l] *= xj[l];
                }
            } else {
                for (int32_t k = 0; k < nl; ++k) {
                    const double *xk = xs[cols[k * C + c]];
                    const double q = lin_pow[k * C + c], w = lin_w[k * C + c];
                    LANE {
                        double xv = q == 1.0 ? xk[l] : pow(xk[l], q);
                        open[l] = k == 0 ? xv * w : open[l] + xv * w;
                    }
                }
                for (int32_t j = 0; j < nf; ++j) {
                    const double *xj = xs[cols[(nl + j) * C + c]];
                    const double q = fac_pow ? fac_pow[j * C + c] : 1.0;
                    LANE open[l] *= q == 1.0 ? xj[l] : pow(xj[l], q);
                }
            }
            const int is_ca = a->is_ca[c] != 0.0;
            LANE {
                double gch = gb[c][l] * open[l];
                double ich = gch * (v[l] - er[c][l]);
                itot[l] += ich;
                gtot[l] += gch;
                if (is_ca) ica[l] += ich;
            }
        }
        /* voltage: linearised backward Euler */
        double vn[LANES];
        if (vclamp) {
            LANE {
                double d = drv[l][t];
                vn[l] = v[l] + dt * (g_clamp * (d - v[l]) - itot[l])
                        / (cap[l] + dt * (gtot[l] + g_clamp));
                i_clamp[l] = g_clamp * (d - vn[l]);
            }
        } else {
            LANE vn[l] = v[l] + dt * (drv[l][t] - itot[l]) / (cap[l] + dt * gtot[l]);
        }
        /* gates at V_{n+1}: table rows, linear interpolation */
        double f[LANES];
        const double *row[LANES];
        LANE {
            double u = (vn[l] - vmin) * inv_step;
            u = u < 0.0 ? 0.0 : u;
            u = u > umax ? umax : u;
            if (u != u) u = 0.0; /* NaN: any row, the element is flagged */
            int64_t i0 = (int64_t)u;
            f[l] = u - (double)i0;
            row[l] = table + i0 * 2 * W;
        }
        /* SLO complexes first: inf = F(V) * m_partner, read before the partner moves */
        for (int32_t w = nt; w < m; ++w) {
            const double *xm = xs[a->slo_mult[w]];
            LANE {
                const double *r = row[l];
                double inf = (r[w] + f[l] * r[W + w]) * xm[l];
                double dec = r[m + w] + f[l] * r[W + m + w];
                xs[w][l] = inf + (xs[w][l] - inf) * dec;
            }
        }
        for (int32_t w = 0; w < nt; ++w) {
            LANE {
                const double *r = row[l];
                double inf = r[w] + f[l] * r[W + w];
                double dec = r[m + w] + f[l] * r[W + m + w];
                xs[w][l] = inf + (xs[w][l] - inf) * dec;
            }
        }
        /* gates read from bulk calcium (the calcium of the step start) */
        for (int32_t j = 0; j < nd; ++j) {
            const double *k = a->direct_const + (int64_t)j * N_DIRECT_CONST;
            double *xw = xs[m + j];
            if (a->direct_kind[j] == DIRECT_KCNL) {
                LANE {
                    double cg = calcium == CA_NONE ? cp[0][l] : ca[l];
                    double inf = cg / (k[0] + cg);
                    xw[l] = inf + (xw[l] - inf) * k[1];
                }
            } else {
                LANE {
                    double cu = (calcium == CA_NONE ? cp[0][l] : ca[l]) * 1e3; /* uM */
                    double kx = 1.0 + pow(k[2] / cu, k[3]);
                    double v0 = k[0] * (k[1] + log(kx) - log(1.0 + pow(cu / k[4], k[5])));
                    double inf = sig_up(vn[l], v0, k[0]);
                    double tau = exp(k[6] * vn[l]) * k[7] * kx * inf * k[8];
                    xw[l] = inf + (xw[l] - inf) * exp(-dt / tau);
                }
            }
        }
        /* calcium after the gates, driven by I_Ca of the step start */
        if (calcium == CA_POOL && has_ca_ch) {
            LANE {
                double influx = -ica[l] > 0.0 ? -ica[l] : 0.0;
                double aa = cp[0][l] * influx / (2.0 * cp[1][l] * cp[2][l]);
                double inf = cp[3][l] + aa * cp[4][l];
                ca[l] = inf + (ca[l] - inf) * exp(-dt / cp[4][l]);
            }
        } else if (calcium == CA_POOL) {
            LANE {
                double inf = cp[3][l];
                ca[l] = inf + (ca[l] - inf) * exp(-dt / cp[4][l]);
            }
        } else if (calcium == CA_SHELL) {
            LANE {
                double aa = -ica[l] * 1e3 / (2.0 * cp[0][l] * cp[1][l] * cp[2][l]);
                double beta = cp[3][l];
                double inf = aa / beta;
                double cn = inf + (ca[l] - inf) * exp(-dt / (1.0 / beta));
                double floor_ = ca[l] < cp[4][l] ? ca[l] : cp[4][l];
                ca[l] = cn != cn ? cn : (cn > floor_ ? cn : floor_);
            }
        }
        LANE v[l] = vn[l];
        if (--until_rec == 0) {
            until_rec = a->every;
            for (int32_t r = 0; r < a->n_record; ++r) {
                int32_t kd = a->rec_kind[r];
                const double *src = kd == REC_V ? v : kd == REC_I ? i_clamp
                                    : kd == REC_CA ? ca : xs[kd];
                double *out = a->rec_out[r];
                for (int l = 0; l < L; ++l) {
                    double val = src[l];
                    out[idx[l] * a->rec_len + pos] = val;
                    if (kd == REC_V) bad[l] = bad_v(bad[l], fabs(val));
                    else if (!isfinite(val)) bad[l] = NAN;
                }
            }
            ++pos;
        }
    }
    for (int l = 0; l < L; ++l) {
        int64_t n = idx[l];
        a->v[n] = v[l];
        if (a->ca) a->ca[n] = ca[l];
        for (int32_t g = 0; g < G1; ++g) a->x[(int64_t)g * N + n] = xs[g][l];
        a->bad[n] = bad[l];
    }
}

int hh_max_gates(void) { return HH_MAX_GATES; }
int hh_max_channels(void) { return HH_MAX_CHANNELS; }
int hh_args_size(void) { return (int)sizeof(hh_args); }

/* flush denormals to zero (as the torch path does), restoring the caller's mode after */
#if defined(__SSE__)
#define FTZ_ON unsigned int csr_ = _mm_getcsr(); _mm_setcsr(csr_ | 0x8040u)
#define FTZ_OFF _mm_setcsr(csr_)
#else
#define FTZ_ON
#define FTZ_OFF
#endif

int hh_run(const hh_args *a) {
    if (a->G1 > HH_MAX_GATES || a->C > HH_MAX_CHANNELS) return 1;
    if (a->n_threads <= 1 || a->N <= LANES) {
        FTZ_ON;
        for (int64_t n = 0; n < a->N; n += LANES)
            run_block(a, n, a->N - n < LANES ? (int)(a->N - n) : LANES);
        FTZ_OFF;
        return 0;
    }
#pragma omp parallel num_threads(a->n_threads)
    {
        FTZ_ON;
#pragma omp for schedule(static)
        for (int64_t n = 0; n < a->N; n += LANES)
            run_block(a, n, a->N - n < LANES ? (int)(a->N - n) : LANES);
        FTZ_OFF;
    }
    return 0;
}
