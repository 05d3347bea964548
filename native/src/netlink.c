/*
 * rtnetlink transport. The messages themselves are built and parsed in TypeScript
 * (src/net/rtnl-codec.ts); here are only the sockets:
 * - nlOpen(0, null): a request socket. nlRequest(h, msg) sends one message and collects the
 *   kernel's answer: the ack (an error becomes an exception with the kernel's extended-ack
 *   text) or, for a dump, every message up to NLMSG_DONE. rtnetlink answers inside the send
 *   and each receive, so this returns in microseconds; a 1 s receive timeout bounds the rest.
 * - nlOpen(groups, cb): a subscription to RTMGRP_* groups; each datagram (one or more
 *   messages) arrives as cb(null, Buffer); an overrun arrives as cb(err ENOBUFS), after which
 *   the caller re-reads the state it cares about. That report waits until the queue has been
 *   drained: while the socket is congested the kernel drops further events without a second
 *   ENOBUFS, so a re-read done earlier could miss a change made in the meantime.
 * Every length is checked before it is used.
 */
#include "fdwatch.h"
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define NL_BUF 65536
#define NL_PER_WAKEUP 64
#define NL_MAX_REPLY (64u << 20) /* a dump larger than this is refused */

typedef struct {
  fdwatch_t w;
  unsigned char *buf;
  bool overrun; /* ENOBUFS seen, reported once the queue is empty */
} nl_sock_t;

static bool nl_on_error(fdwatch_t *w, int err) {
  if (err != ENOBUFS) return false;
  ((nl_sock_t *)w)->overrun = true;
  return true;
}

static void nl_free_extra(fdwatch_t *w) { free(((nl_sock_t *)w)->buf); }

static void on_events(fdwatch_t *w, napi_value cb) {
  nl_sock_t *s = (nl_sock_t *)w;
  napi_env env = w->env;
  for (int i = 0; i < NL_PER_WAKEUP && !w->closed; i++) {
    struct iovec iov = {.iov_base = s->buf, .iov_len = NL_BUF};
    struct sockaddr_nl from;
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = recvmsg(w->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) { s->overrun = true; continue; }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (s->overrun) { /* drained: the caller's re-read now sees everything */
          s->overrun = false;
          fdwatch_report(w, cb, ENOBUFS, false);
        }
      } else {
        fdwatch_report(w, cb, errno, false);
      }
      break;
    }
    /* Only the kernel speaks on these groups; a truncated datagram is an overrun to resync. */
    if (msg.msg_namelen < sizeof from || from.nl_pid != 0) continue;
    if (msg.msg_flags & MSG_TRUNC) { s->overrun = true; continue; }
    napi_handle_scope inner;
    napi_open_handle_scope(env, &inner);
    napi_value argv[2];
    napi_get_null(env, &argv[0]);
    napi_create_buffer_copy(env, (size_t)n, s->buf, NULL, &argv[1]);
    bool ok = fdwatch_call(w, cb, 2, argv);
    napi_close_handle_scope(env, inner);
    if (!ok) break;
  }
}

/* nlOpen(groups, cb | null, rcvbuf?) -> handle */
napi_value nl_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_type(env, "nlOpen(groups, callback | null, rcvbuf?)");
  uint32_t groups = 0;
  int32_t rcvbuf = 0;
  if (napi_get_value_uint32(env, argv[0], &groups) != napi_ok) return throw_type(env, "groups must be a number");
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  bool subscribe = t == napi_function;
  if (!subscribe && t != napi_null && t != napi_undefined) return throw_type(env, "callback must be a function or null");
  if (subscribe != (groups != 0)) return throw_type(env, "a callback goes with groups, a request socket with none");
  if (argc > 2) {
    napi_typeof(env, argv[2], &t);
    if (t != napi_undefined && napi_get_value_int32(env, argv[2], &rcvbuf) != napi_ok) return throw_type(env, "rcvbuf must be a number");
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (subscribe ? SOCK_NONBLOCK : 0), NETLINK_ROUTE);
  if (fd < 0) return throw_errno(env, "socket(AF_NETLINK)", errno);
  int one = 1;
  const char *what = NULL;
  if (subscribe) {
    int size = rcvbuf > 0 ? rcvbuf : 1 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0) what = "SO_RCVBUF";
  } else {
    struct timeval tv = {.tv_sec = 1};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) what = "SO_RCVTIMEO";
    /* Optional: older kernels answer without the text. */
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  }
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
  if (!what && bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) what = "bind(AF_NETLINK)";
  if (what) {
    int err = errno;
    close(fd);
    return throw_errno(env, what, err);
  }
  unsigned char *buf = malloc(NL_BUF);
  if (!buf) { close(fd); return throw_errno(env, "nlOpen", ENOMEM); }
  fdwatch_t *w;
  napi_value h = fdwatch_create(env, fd, KIND_NETLINK, sizeof(nl_sock_t), subscribe ? argv[1] : NULL,
                                subscribe ? on_events : NULL, &w);
  if (!h) { free(buf); return NULL; }
  ((nl_sock_t *)w)->buf = buf;
  w->free_extra = nl_free_extra;
  w->on_error = nl_on_error;
  return h;
}

/* The kernel's extended-ack text after a capped nlmsgerr, if any. */
static void ext_ack_text(const struct nlmsghdr *h, char *out, size_t outlen) {
  out[0] = '\0';
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return;
  size_t off = NLMSG_LENGTH(sizeof(struct nlmsgerr));
  while (off + NLA_HDRLEN <= h->nlmsg_len) {
    const struct nlattr *a = (const struct nlattr *)((const unsigned char *)h + off);
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len) return;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      size_t n = a->nla_len - NLA_HDRLEN;
      const char *txt = (const char *)a + NLA_HDRLEN;
      n = strnlen(txt, n);
      if (n >= outlen) n = outlen - 1;
      memcpy(out, txt, n);
      out[n] = '\0';
      return;
    }
    off += NLA_ALIGN(a->nla_len);
  }
}

static napi_value nl_error(napi_env env, int err, const struct nlmsghdr *h) {
  char text[160], what[200];
  ext_ack_text(h, text, sizeof text);
  snprintf(what, sizeof what, "rtnetlink%s%s", text[0] ? ": " : "", text);
  return throw_errno(env, what, err);
}

/* nlRequest(handle, message) -> Buffer[] (the dump's messages; [] for an acked change). */
napi_value nl_request(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_type(env, "nlRequest(handle, message)");
  nl_sock_t *s = (nl_sock_t *)fdwatch_get(env, argv[0], KIND_NETLINK, "netlink");
  if (!s) return NULL;
  if (s->w.closed) return throw_errno(env, "netlink request", EBADF);
  if (s->w.polling) return throw_type(env, "requests go through a request socket (nlOpen(0, null))");
  bool isbuf = false;
  napi_is_buffer(env, argv[1], &isbuf);
  if (!isbuf) return throw_type(env, "message must be a Buffer");
  unsigned char *req;
  size_t reqlen;
  NAPI_TRY(env, napi_get_buffer_info(env, argv[1], (void **)&req, &reqlen));
  struct nlmsghdr rh;
  if (reqlen < sizeof rh) return throw_type(env, "message shorter than a netlink header");
  memcpy(&rh, req, sizeof rh);
  if (rh.nlmsg_len != reqlen) return throw_type(env, "netlink header length differs from the buffer's");

  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  ssize_t n;
  do n = sendto(s->w.fd, req, reqlen, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "sendto(AF_NETLINK)", errno);

  napi_value out;
  NAPI_TRY(env, napi_create_array(env, &out));
  uint32_t count = 0;
  size_t total = 0;
  for (;;) {
    struct iovec iov = {.iov_base = s->buf, .iov_len = NL_BUF};
    struct sockaddr_nl from;
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    n = recvmsg(s->w.fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return throw_errno(env, "recvmsg(AF_NETLINK)", errno == EAGAIN ? ETIMEDOUT : errno);
    }
    if (msg.msg_flags & MSG_TRUNC) return throw_errno(env, "recvmsg(AF_NETLINK): reply truncated", EMSGSIZE);
    if (msg.msg_namelen < sizeof from || from.nl_pid != 0) continue;
    int left = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)s->buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != rh.nlmsg_seq) continue; /* a late answer to an earlier, timed-out request */
      if (h->nlmsg_type == NLMSG_DONE) return out;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
          return throw_errno(env, "rtnetlink: short error message", EPROTO);
        struct nlmsgerr e;
        memcpy(&e, NLMSG_DATA(h), sizeof e);
        if (e.error == 0) return out;
        return nl_error(env, e.error < 0 ? -e.error : e.error, h);
      }
      total += h->nlmsg_len;
      if (total > NL_MAX_REPLY) return throw_errno(env, "rtnetlink: reply too large", EMSGSIZE);
      napi_value b;
      NAPI_TRY(env, napi_create_buffer_copy(env, h->nlmsg_len, h, NULL, &b));
      NAPI_TRY(env, napi_set_element(env, out, count++, b));
      if (!(h->nlmsg_flags & NLM_F_MULTI) && !(rh.nlmsg_flags & NLM_F_ACK)) return out;
    }
  }
}

napi_value nl_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "nlClose(handle)");
  fdwatch_t *w = fdwatch_get(env, argv[0], KIND_NETLINK, "netlink");
  if (w) fdwatch_close(w);
  return NULL;
}

/* nlSetRef(handle, bool): whether a subscription keeps the process alive. */
napi_value nl_set_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_type(env, "nlSetRef(handle, bool)");
  fdwatch_t *w = fdwatch_get(env, argv[0], KIND_NETLINK, "netlink");
  if (!w) return NULL;
  bool ref = true;
  napi_get_value_bool(env, argv[1], &ref);
  fdwatch_set_ref(w, ref);
  return NULL;
}
