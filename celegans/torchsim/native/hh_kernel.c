/* Native kernels of the torch backend's CPU fast path: whole runs of ``hh`` cells
 * (hh_run) and of networks of ``hh`` and passive cells with graded synapses, gap junctions
 * and muscles (net_run).
 *
 * Both execute the data that celegans.torchsim.hh_fused prepares for an hh cell type
 * (voltage tables of inf and exp(-dt/tau), the gating products as index/weight/power lists)
 * with the same arithmetic as the torch steps (hh_fused.current / hh_fused.update_gates /
 * HHCellTorch.update, integrator._step and network._make_step_fn): NEURON's staggered scheme,
 * linearised backward Euler for V, exponential Euler for the gates at the new V, calcium pool
 * or shell after the gates, synaptic activation from the voltage of the step start.
 *
 * What differs is the loop order. hh_run takes blocks of LANES parameter sets x sweeps
 * through all their steps, the state in registers/L1 (no per-step dispatch); net_run takes
 * one network copy through all its steps, cells of a type in blocks of LANES. Independent
 * blocks (hh_run) or copies (net_run) are split over OpenMP threads.
 *
 * Built on first use by celegans/torchsim/native_hh.py (cached by the hash of this file).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
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
#define CA_POOL 1  /* ca_par rows: [f, F, volume_um3, ca_bg, tau, exp(-dt/tau)] */
#define CA_SHELL 2 /* ca_par rows: [F, depth, area_um2, beta, ca_min, exp(-dt beta)] */
#define N_CA_PAR 6

/* recorded variables */
#define REC_V (-1)
#define REC_I (-2)
#define REC_CA (-3)

/* network cell groups */
#define GROUP_PASSIVE 0
#define GROUP_HH 1
#define GROUP_ML 2 /* Morris-Lecar, par rows: V1 V2 V3 V4 g_Ca g_K g_L E_Ca E_K E_L tau_w0 */

/* cells advancing together, lane-innermost: independent dependency chains for the
 * out-of-order core and SIMD over lanes (one cell alone is latency-bound) */
#define LANES 8

typedef struct {         /* an hh cell type: the fused step's data */
    int32_t G1;          /* packed gates, ONE included */
    int32_t n_tab;       /* tabled gates, ONE included */
    int32_t n_slo;       /* SLO complexes */
    int32_t n_direct;    /* direct gates */
    int32_t C;           /* channels */
    int32_t n_lin;       /* sum terms per channel */
    int32_t n_fac;       /* product factors per channel */
    int32_t W;           /* table width: [inf | F_slo | dec | dec_slo], differences follow */
    int32_t powers_one;  /* every power of the gating products is 1 */
    int32_t calcium;     /* CA_* */
    int64_t n_rows;      /* table rows */
    double vmin, inv_step;
    const double *table;     /* (n_rows, 2W) */
    const int64_t *slo_mult; /* (n_tab + n_slo,) column multiplying inf (ONE for tabled) */
    const int64_t *cols;     /* ((n_lin + n_fac) * C,) slot-major */
    const double *lin_pow, *lin_w; /* (n_lin, C) */
    const double *fac_pow;         /* (n_fac, C) or NULL */
    const double *is_ca;           /* (C,) */
    const int32_t *direct_kind;    /* (n_direct,) */
    const double *direct_const;    /* (n_direct, N_DIRECT_CONST) */
} hh_plan;

typedef struct {
    hh_plan plan;
    int64_t N;           /* elements (B * S), element n has sweep n % S */
    int64_t S;           /* sweeps */
    int64_t n_steps;     /* steps of this call */
    int64_t t0;          /* first column of drive (steps already done) */
    int64_t drive_len;   /* columns of drive */
    int64_t every;       /* record every this many steps */
    int64_t rec_len;     /* samples per element in each recording buffer */
    int64_t rec_pos;     /* sample index of the first sample written by this call */
    double dt;
    const double *gbar, *erev;     /* (C, N) */
    const double *cap;             /* (N,) pF */
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

typedef struct {
    int32_t kind;                  /* GROUP_* */
    int64_t a, b;                  /* cells [a, b) of the (permuted) state */
    const hh_plan *plan;           /* hh */
    double *x;                     /* hh: (G1, B, b - a) in/out */
    double *ca;                    /* hh with a pool or shell: (B, b - a) in/out, else NULL */
    const double *gbar, *erev;     /* hh: (C, b - a) */
    const double *ca_par;          /* hh: (N_CA_PAR, b - a) */
    const double *g_L, *E_L;       /* passive: (b - a,) */
    double *w;                     /* Morris-Lecar: (B, b - a) in/out */
    const double *par;             /* Morris-Lecar: (11, b - a) */
} net_group;

typedef struct {
    int64_t B, N, n, M;            /* copies, cells (neurons + muscles), neurons, muscles */
    int64_t n_steps;
    double dt;
    int32_t n_groups;
    const net_group *groups;
    /* graded synapses by postsynaptic cell (CSR, muscles included): s[pre] * w -> post */
    const int64_t *syn_ptr;        /* (N + 1,) */
    const int64_t *syn_pre;        /* (nnz,) */
    const double *syn_w, *E_pre;   /* (nnz,), (n,) */
    /* gap junctions by receiving cell (CSR): v[from] * w -> to; has_gap: any */
    int32_t has_gap;
    const int64_t *gap_ptr, *gap_from;
    const double *gap_w, *Dg;      /* (nnz,), (N,) */
    const double *cap;             /* (N,) pF */
    double syn_vth, syn_delta, s_decay, v_rest, v_sat, act_decay;
    const double *i_ext;           /* (steps or 1, B, N) pA */
    int64_t i_ext_step;            /* elements between steps of i_ext (0: held) */
    double *v, *s, *act;           /* (B, N), (B, n), (B, M) in/out */
    /* optional recording every rec_every steps: V into rec_v (B, rec_len, N) and muscle
     * activation into rec_act (B, rec_len, M) from sample rec_pos on; rec_v NULL: none */
    int64_t rec_every, rec_len, rec_pos;
    double *rec_v, *rec_act;
    int32_t n_threads;
} net_args;

static inline double sig_up(double v, double vh, double k) {
    return 1.0 / (1.0 + exp(-(v - vh) / k));
}

static inline double bad_v(double bad, double av) {
    /* torch.maximum: NaN propagates */
    if (isnan(bad)) return bad;
    if (isnan(av) || av > bad) return av;
    return bad;
}

/* --- one step of L <= LANES cells of a type ----------------------------------------------
 * gates xs[g * gs + l]; per-cell constants gb/er[c * ps + l], cp[r * ps + l]; v, ca, ... [l] */

/* total current, conductance and calcium current at (V_n, x_n) */
static inline void blk_current(const hh_plan *P, int L, const double *restrict xs, int64_t gs,
                               const double *restrict gb, const double *restrict er,
                               int64_t ps, const double *restrict v, double *restrict itot,
                               double *restrict gtot, double *restrict ica) {
    const int32_t C = P->C, nl = P->n_lin, nf = P->n_fac;
    const int64_t *cols = P->cols;
    const double *lin_w = P->lin_w, *lin_pow = P->lin_pow, *fac_pow = P->fac_pow;
    for (int l = 0; l < L; ++l) itot[l] = gtot[l] = ica[l] = 0.0;
    for (int32_t c = 0; c < C; ++c) {
        double open[LANES];
        if (P->powers_one) { /* the usual case: no pow, products in registers */
            const double *x0 = xs + cols[c] * gs;
            const double w0 = lin_w[c];
            for (int l = 0; l < L; ++l) open[l] = x0[l] * w0;
            for (int32_t k = 1; k < nl; ++k) {
                const double *xk = xs + cols[k * C + c] * gs;
                const double w = lin_w[k * C + c];
                for (int l = 0; l < L; ++l) open[l] += xk[l] * w;
            }
            for (int32_t j = 0; j < nf; ++j) {
                const double *xj = xs + cols[(nl + j) * C + c] * gs;
                for (int l = 0; l < L; ++l) open[l] *= xj[l];
            }
        } else {
            for (int l = 0; l < L; ++l) open[l] = 1.0; /* an empty sum is 1 */
            for (int32_t k = 0; k < nl; ++k) {
                const double *xk = xs + cols[k * C + c] * gs;
                const double q = lin_pow[k * C + c], w = lin_w[k * C + c];
                for (int l = 0; l < L; ++l) {
                    double xv = q == 1.0 ? xk[l] : pow(xk[l], q);
                    open[l] = k == 0 ? xv * w : open[l] + xv * w;
                }
            }
            for (int32_t j = 0; j < nf; ++j) {
                const double *xj = xs + cols[(nl + j) * C + c] * gs;
                const double q = fac_pow ? fac_pow[j * C + c] : 1.0;
                for (int l = 0; l < L; ++l) open[l] *= q == 1.0 ? xj[l] : pow(xj[l], q);
            }
        }
        const int is_ca = P->is_ca[c] != 0.0;
        const double *g = gb + c * ps, *e = er + c * ps;
        for (int l = 0; l < L; ++l) {
            double gch = g[l] * open[l];
            double ich = gch * (v[l] - e[l]);
            itot[l] += ich;
            gtot[l] += gch;
            if (is_ca) ica[l] += ich;
        }
    }
}

/* all gates at V_{n+1} = vn; ca_g: the bulk calcium of the step start (direct gates) */
static inline void blk_gates(const hh_plan *P, int L, double *restrict xs, int64_t gs,
                             const double *restrict vn, const double *restrict ca_g,
                             double dt) {
    const int32_t W = P->W, nt = P->n_tab, m = P->n_tab + P->n_slo;
    const double umax = (double)(P->n_rows - 2);
    double f[LANES];
    const double *row[LANES];
    for (int l = 0; l < L; ++l) {
        double u = (vn[l] - P->vmin) * P->inv_step;
        u = u < 0.0 ? 0.0 : u;
        u = u > umax ? umax : u;
        if (u != u) u = 0.0; /* NaN: any row, the cell is flagged */
        int64_t i0 = (int64_t)u;
        f[l] = u - (double)i0;
        row[l] = P->table + i0 * 2 * W;
    }
    /* SLO complexes first: inf = F(V) * m_partner, read before the partner moves */
    for (int32_t w = nt; w < m; ++w) {
        const double *xm = xs + P->slo_mult[w] * gs;
        double *xw = xs + w * gs;
        for (int l = 0; l < L; ++l) {
            const double *r = row[l];
            double inf = (r[w] + f[l] * r[W + w]) * xm[l];
            double dec = r[m + w] + f[l] * r[W + m + w];
            xw[l] = inf + (xw[l] - inf) * dec;
        }
    }
    for (int32_t w = 0; w < nt; ++w) {
        double *xw = xs + w * gs;
        for (int l = 0; l < L; ++l) {
            const double *r = row[l];
            double inf = r[w] + f[l] * r[W + w];
            double dec = r[m + w] + f[l] * r[W + m + w];
            xw[l] = inf + (xw[l] - inf) * dec;
        }
    }
    for (int32_t j = 0; j < P->n_direct; ++j) {
        const double *k = P->direct_const + (int64_t)j * N_DIRECT_CONST;
        double *xw = xs + (m + j) * gs;
        if (P->direct_kind[j] == DIRECT_KCNL) {
            for (int l = 0; l < L; ++l) {
                double inf = ca_g[l] / (k[0] + ca_g[l]);
                xw[l] = inf + (xw[l] - inf) * k[1];
            }
        } else {
            for (int l = 0; l < L; ++l) {
                double cu = ca_g[l] * 1e3; /* uM */
                double kx = 1.0 + pow(k[2] / cu, k[3]);
                double v0 = k[0] * (k[1] + log(kx) - log(1.0 + pow(cu / k[4], k[5])));
                double inf = sig_up(vn[l], v0, k[0]);
                double tau = exp(k[6] * vn[l]) * k[7] * kx * inf * k[8];
                xw[l] = inf + (xw[l] - inf) * exp(-dt / tau);
            }
        }
    }
}

/* bulk calcium after the gates, driven by I_Ca of the step start */
static inline void blk_calcium(const hh_plan *P, int L, double *restrict ca,
                               const double *restrict ica, const double *restrict cp,
                               int64_t ps) {
    const double *c0 = cp, *c1 = cp + ps, *c2 = cp + 2 * ps, *c3 = cp + 3 * ps,
                 *c4 = cp + 4 * ps, *dec = cp + 5 * ps;
    if (P->calcium == CA_POOL) {
        for (int l = 0; l < L; ++l) {
            double influx = -ica[l] > 0.0 ? -ica[l] : 0.0;
            double aa = c0[l] * influx / (2.0 * c1[l] * c2[l]);
            double inf = c3[l] + aa * c4[l];
            ca[l] = inf + (ca[l] - inf) * dec[l];
        }
    } else if (P->calcium == CA_SHELL) {
        for (int l = 0; l < L; ++l) {
            double aa = -ica[l] * 1e3 / (2.0 * c0[l] * c1[l] * c2[l]);
            double beta = c3[l];
            double inf = aa / beta;
            double cn = inf + (ca[l] - inf) * dec[l];
            double floor_ = ca[l] < c4[l] ? ca[l] : c4[l];
            ca[l] = cn != cn ? cn : (cn > floor_ ? cn : floor_);
        }
    }
}

/* --- hh_run: LANES parameter sets x sweeps through all steps -------------------------- */

static void run_block(const hh_args *a, int64_t n0, int L) {
    const hh_plan *P = &a->plan;
    const int64_t N = a->N;
    const int32_t G1 = P->G1, C = P->C;
    const double dt = a->dt;
    const int vclamp = a->vclamp;
    const double g_clamp = a->g_clamp;
    int64_t idx[LANES];
    for (int l = 0; l < LANES; ++l) idx[l] = n0 + (l < L ? l : L - 1); /* pad: repeat last */

    double xs[HH_MAX_GATES * LANES];
    double gb[HH_MAX_CHANNELS * LANES], er[HH_MAX_CHANNELS * LANES], cp[N_CA_PAR * LANES];
    double v[LANES], ca[LANES], cap[LANES], bad[LANES];
    const double *drv[LANES];
    int n_cp = P->calcium == CA_NONE ? 1 : N_CA_PAR;
    for (int32_t g = 0; g < G1; ++g)
        for (int l = 0; l < LANES; ++l) xs[g * LANES + l] = a->x[(int64_t)g * N + idx[l]];
    for (int32_t c = 0; c < C; ++c)
        for (int l = 0; l < LANES; ++l) {
            gb[c * LANES + l] = a->gbar[(int64_t)c * N + idx[l]];
            er[c * LANES + l] = a->erev[(int64_t)c * N + idx[l]];
        }
    memset(cp, 0, sizeof(cp));
    for (int r = 0; r < n_cp; ++r)
        for (int l = 0; l < LANES; ++l) cp[r * LANES + l] = a->ca_par[(int64_t)r * N + idx[l]];
    for (int l = 0; l < LANES; ++l) {
        v[l] = a->v[idx[l]];
        ca[l] = a->ca ? a->ca[idx[l]] : 0.0;
        cap[l] = a->cap[idx[l]];
        bad[l] = a->bad[idx[l]];
        drv[l] = a->drive + (idx[l] % a->S) * a->drive_len + a->t0;
    }
    const double *ca_g = P->calcium == CA_NONE ? cp : ca; /* CA_NONE: row 0 is ca_bg */
    int64_t pos = a->rec_pos;
    int64_t until_rec = a->every;
    double i_clamp[LANES] = {0};

    for (int64_t t = 0; t < a->n_steps; ++t) {
        double itot[LANES], gtot[LANES], ica[LANES], vn[LANES];
        blk_current(P, LANES, xs, LANES, gb, er, LANES, v, itot, gtot, ica);
        if (vclamp) { /* linearised backward Euler with NEURON's SEClamp */
            for (int l = 0; l < LANES; ++l) {
                double d = drv[l][t];
                vn[l] = v[l] + dt * (g_clamp * (d - v[l]) - itot[l])
                        / (cap[l] + dt * (gtot[l] + g_clamp));
                i_clamp[l] = g_clamp * (d - vn[l]);
            }
        } else {
            for (int l = 0; l < LANES; ++l)
                vn[l] = v[l] + dt * (drv[l][t] - itot[l]) / (cap[l] + dt * gtot[l]);
        }
        blk_gates(P, LANES, xs, LANES, vn, ca_g, dt);
        blk_calcium(P, LANES, ca, ica, cp, LANES);
        for (int l = 0; l < LANES; ++l) v[l] = vn[l];
        if (--until_rec == 0) {
            until_rec = a->every;
            for (int32_t r = 0; r < a->n_record; ++r) {
                int32_t kd = a->rec_kind[r];
                const double *src = kd == REC_V ? v : kd == REC_I ? i_clamp
                                    : kd == REC_CA ? ca : xs + kd * LANES;
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
        for (int32_t g = 0; g < G1; ++g) a->x[(int64_t)g * N + n] = xs[g * LANES + l];
        a->bad[n] = bad[l];
    }
}

/* flush denormals to zero (as the torch path does), restoring the caller's mode after */
#if defined(__SSE__)
#define FTZ_ON unsigned int csr_ = _mm_getcsr(); _mm_setcsr(csr_ | 0x8040u)
#define FTZ_OFF _mm_setcsr(csr_)
#else
#define FTZ_ON
#define FTZ_OFF
#endif

int hh_max_gates(void) { return HH_MAX_GATES; }
int hh_max_channels(void) { return HH_MAX_CHANNELS; }
int hh_args_size(void) { return (int)sizeof(hh_args); }
int net_args_size(void) { return (int)sizeof(net_args); }
int net_group_size(void) { return (int)sizeof(net_group); }

int hh_run(const hh_args *a) {
    if (a->plan.G1 > HH_MAX_GATES || a->plan.C > HH_MAX_CHANNELS) return 1;
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

/* --- net_run: one network copy through all steps ---------------------------------------- */

/* one block of L cells of an hh group: L == LANES gets its own (vectorised) copy */
static void net_hh_current(const hh_plan *P, int L, const double *xs, int64_t gs,
                           const double *gb, const double *er, int64_t ps, const double *v,
                           double *itot, double *gtot, double *ica) {
    if (L == LANES) blk_current(P, LANES, xs, gs, gb, er, ps, v, itot, gtot, ica);
    else blk_current(P, L, xs, gs, gb, er, ps, v, itot, gtot, ica);
}

static void net_hh_gates(const hh_plan *P, int L, double *xs, int64_t gs, const double *vn,
                         const double *ca_g, double dt) {
    if (L == LANES) blk_gates(P, LANES, xs, gs, vn, ca_g, dt);
    else blk_gates(P, L, xs, gs, vn, ca_g, dt);
}

static void net_copy(const net_args *a, int64_t b, double *work) {
    const int64_t N = a->N, n = a->n, M = a->M, B = a->B;
    const double dt = a->dt;
    double *i_ion = work, *g_ion = work + N, *vn = work + 2 * N, *ica = work + 3 * N,
           *sE = work + 4 * N;
    double *v = a->v + b * N, *s = a->s + b * n, *act = a->act + b * M;
    const double *iext = a->i_ext + b * N;
    int64_t until_rec = a->rec_every, pos = a->rec_pos;
    for (int64_t t = 0; t < a->n_steps; ++t) {
        /* ionic currents at (V_n, x_n) */
        for (int32_t k = 0; k < a->n_groups; ++k) {
            const net_group *G = a->groups + k;
            const int64_t ng = G->b - G->a;
            if (G->kind == GROUP_PASSIVE) {
                for (int64_t j = 0; j < ng; ++j) {
                    double gl = G->g_L[j];
                    i_ion[G->a + j] = gl * (v[G->a + j] - G->E_L[j]);
                    g_ion[G->a + j] = gl;
                }
                continue;
            }
            if (G->kind == GROUP_ML) {
                const double *q = G->par, *w = G->w + b * ng;
                for (int64_t j = 0; j < ng; ++j) {
                    double vv = v[G->a + j];
                    double V2 = q[ng + j], gca = q[4 * ng + j], gk = q[5 * ng + j],
                           gl = q[6 * ng + j], eca = q[7 * ng + j];
                    double th = tanh((vv - q[j]) / V2);
                    double minf = 0.5 * (1.0 + th), dminf = 0.5 * (1.0 - th * th) / V2;
                    i_ion[G->a + j] = gca * minf * (vv - eca) + gk * w[j] * (vv - q[8 * ng + j])
                                      + gl * (vv - q[9 * ng + j]);
                    g_ion[G->a + j] = gca * (minf + dminf * (vv - eca)) + gk * w[j] + gl;
                }
                continue;
            }
            for (int64_t j = 0; j < ng; j += LANES) {
                int L = ng - j < LANES ? (int)(ng - j) : LANES;
                net_hh_current(G->plan, L, G->x + b * ng + j, B * ng, G->gbar + j,
                               G->erev + j, ng, v + G->a + j, i_ion + G->a + j,
                               g_ion + G->a + j, ica + G->a + j);
            }
        }
        /* synapses (linear in the own voltage), gap junctions, the voltage update */
        for (int64_t j = 0; j < n; ++j) sE[j] = s[j] * a->E_pre[j];
        const double *ie = iext + t * a->i_ext_step;
        for (int64_t c = 0; c < N; ++c) {
            double gs = 0.0, ge = 0.0;
            for (int64_t q = a->syn_ptr[c]; q < a->syn_ptr[c + 1]; ++q) {
                int64_t pre = a->syn_pre[q];
                gs += s[pre] * a->syn_w[q];
                ge += sE[pre] * a->syn_w[q];
            }
            double G_ = g_ion[c] + gs;
            double rhs = -i_ion[c] - (gs * v[c] - ge);
            if (a->has_gap) {
                double gap = 0.0;
                for (int64_t q = a->gap_ptr[c]; q < a->gap_ptr[c + 1]; ++q)
                    gap += v[a->gap_from[q]] * a->gap_w[q];
                G_ = G_ + a->Dg[c];
                rhs = rhs - (a->Dg[c] * v[c] - gap);
            }
            rhs = rhs + ie[c];
            vn[c] = v[c] + dt * rhs / (a->cap[c] + dt * G_);
        }
        /* gates and calcium at V_{n+1} */
        for (int32_t k = 0; k < a->n_groups; ++k) {
            const net_group *G = a->groups + k;
            if (G->kind == GROUP_ML) {
                const int64_t ng = G->b - G->a;
                const double *q = G->par;
                double *w = G->w + b * ng;
                for (int64_t j = 0; j < ng; ++j) {
                    double vv = vn[G->a + j], V3 = q[2 * ng + j], V4 = q[3 * ng + j];
                    double tau = q[10 * ng + j] / cosh((vv - V3) / (2.0 * V4));
                    double winf = 0.5 * (1.0 + tanh((vv - V3) / V4));
                    w[j] = winf + (w[j] - winf) * exp(-dt / tau);
                }
                continue;
            }
            if (G->kind != GROUP_HH) continue;
            const hh_plan *P = G->plan;
            const int64_t ng = G->b - G->a;
            for (int64_t j = 0; j < ng; j += LANES) {
                int L = ng - j < LANES ? (int)(ng - j) : LANES;
                double *cab = G->ca ? G->ca + b * ng + j : NULL;
                const double *cp = G->ca_par + j;
                net_hh_gates(P, L, G->x + b * ng + j, B * ng, vn + G->a + j,
                             P->calcium == CA_NONE ? cp : cab, dt);
                if (cab) blk_calcium(P, L, cab, ica + G->a + j, cp, ng);
            }
        }
        /* muscle activation at V_{n+1}; synaptic activation from V_n */
        for (int64_t j = 0; j < M; ++j) {
            double r = (vn[n + j] - a->v_rest) / (a->v_sat - a->v_rest);
            double tgt = r < 0.0 ? 0.0 : (r > 1.0 ? 1.0 : r);
            if (r != r) tgt = r;
            act[j] = tgt + (act[j] - tgt) * a->act_decay;
        }
        for (int64_t j = 0; j < n; ++j) {
            double sinf = 1.0 / (1.0 + exp(-((v[j] - a->syn_vth) / a->syn_delta)));
            s[j] = sinf + (s[j] - sinf) * a->s_decay;
        }
        memcpy(v, vn, sizeof(double) * N);
        if (a->rec_v && --until_rec == 0) {
            until_rec = a->rec_every;
            memcpy(a->rec_v + (b * a->rec_len + pos) * N, v, sizeof(double) * N);
            if (M) memcpy(a->rec_act + (b * a->rec_len + pos) * M, act, sizeof(double) * M);
            ++pos;
        }
    }
}

int net_run(const net_args *a) {
    for (int32_t k = 0; k < a->n_groups; ++k) {
        const net_group *G = a->groups + k;
        if (G->kind == GROUP_HH && (G->plan->G1 > HH_MAX_GATES || G->plan->C > HH_MAX_CHANNELS))
            return 1;
    }
    int nt = a->n_threads > 1 && a->B > 1 ? a->n_threads : 1;
    double *work = malloc(sizeof(double) * 5 * (size_t)a->N * (size_t)a->B);
    if (!work) return 2;
#pragma omp parallel num_threads(nt)
    {
        FTZ_ON;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < a->B; ++b) net_copy(a, b, work + 5 * a->N * b);
        FTZ_OFF;
    }
    free(work);
    return 0;
}
