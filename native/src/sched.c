/* Real-time scheduling for the thread that runs the event loop (keepalived's vrrp_rt_priority):
 * SCHED_RR at the given priority, with SCHED_RESET_ON_FORK so that check and notify scripts
 * start as ordinary processes. Node has no binding for sched_setscheduler. */
#include "common.h"
#include <errno.h>
#include <sched.h>

napi_value set_realtime(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int prio = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &prio) != napi_ok) return throw_type(env, "setRealtime(priority) needs a number");
  int lo = sched_get_priority_min(SCHED_RR), hi = sched_get_priority_max(SCHED_RR);
  if (prio < lo || prio > hi) return throw_type(env, "priority out of SCHED_RR's range");
  struct sched_param sp = {.sched_priority = prio};
  /* pid 0: the calling thread, which is the one running JavaScript and the event loop. */
  if (sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &sp) != 0) return throw_errno(env, "sched_setscheduler(SCHED_RR)", errno);
  napi_value out;
  NAPI_TRY(env, napi_get_undefined(env, &out));
  return out;
}
