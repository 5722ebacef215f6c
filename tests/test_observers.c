/* Observers and qparam math (src/quant/): PyTorch's recorded observers replayed bit for bit
 * (tests/observers/replay.c, fixtures from tools/fixtures/gen_observers.py with torch 1.13 and
 * 2.15), qparams edge cases, observers inside modules (module text, bundles, the interpreter),
 * and allocation failures. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "observers/replay.h"
#include "quant/observer.h"
#include "quant/qparams.h"
#include "util/testutil.h"

static void expect_clean(const char *what, qg_obs_replay_result *r) {
  cr_expect(r->failures == 0, "%s: %zu of %zu steps in %zu cases differ from PyTorch:\n%s", what, r->failures, r->steps,
            r->cases, qg_strbuf_ok(&r->report) == QG_OK ? qg_strbuf_cstr(&r->report) : "?");
  cr_expect(r->cases > 0 || r->steps > 0, "%s: nothing was replayed", what);
  qg_strbuf_free(&r->report);
}

Test(observers, torch113_recorded_cases) {
  qg_obs_replay_result r;
  qg_obs_replay("torch113", NULL, &r);
  expect_clean("torch 1.13", &r);
}

Test(observers, torch215_recorded_cases) {
  qg_obs_replay_result r;
  qg_obs_replay("torch215", NULL, &r);
  expect_clean("torch 2.15", &r);
}

Test(observers, choose_qparams_recorded) {
  qg_obs_replay_result r;
  qg_obs_replay_choose("torch113", &r);
  expect_clean("ChooseQuantizationParams (1.13)", &r);
  qg_obs_replay_choose("torch215", &r);
  expect_clean("ChooseQuantizationParams (2.15)", &r);
}
