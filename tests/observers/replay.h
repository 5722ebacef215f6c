/* Replays the observer cases PyTorch recorded (tools/fixtures/gen_observers.py) against
 * quantgraph's native observers and reports every difference. */
#ifndef QG_TESTS_OBSERVERS_REPLAY_H
#define QG_TESTS_OBSERVERS_REPLAY_H

#include <stddef.h>

#include "base/strbuf.h"

typedef struct qg_obs_replay_result {
  size_t cases, steps, failures;
  qg_strbuf report; /* one line per failure (the first 60) */
} qg_obs_replay_result;

/* tag: "torch113" or "torch215". Runs every case (only those whose name contains `filter`, when
 * not NULL). Histogram variant and NaN check follow the torch version. */
void qg_obs_replay(const char *tag, const char *filter, qg_obs_replay_result *out);
/* The recorded aten::_choose_qparams_per_tensor results against qg_choose_qparams_dynamic. */
void qg_obs_replay_choose(const char *tag, qg_obs_replay_result *out);

/* torch.sum of recorded float32 vectors against qg__cascade_sum_f32 with the version's lanes. */
void qg_obs_replay_sums(const char *tag, qg_obs_replay_result *out);
/* _compute_quantization_error and _non_linear_param_search on recorded histogram states. */
void qg_obs_replay_internals(const char *tag, qg_obs_replay_result *out);

#endif
