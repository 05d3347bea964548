/*
 * Raw IP sockets for VRRP (protocol 112, or 51 for AH) wired into Node's event loop.
 * One socket = one (family, protocol, interface, multicast group | unicast address), the
 * way keepalived pools its read sockets. Readiness comes from uv_poll; every wakeup drains
 * the socket with recvmsg and hands each datagram to JS with its source, destination,
 * TTL/hop limit and arrival interface. Everything about packet contents lives in TypeScript.
 */
#include "common.h"
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#ifndef IP_MULTICAST_ALL
#define IP_MULTICAST_ALL 49
#endif
#ifndef IPV6_MULTICAST_ALL
#define IPV6_MULTICAST_ALL 29
#endif

#define RECV_BUF 65536
#define MAX_PER_WAKEUP 256 /* bounded so a flood cannot starve the loop */

typedef struct {
  napi_env env;
  int fd;
  int family;
  unsigned ifindex;
  uv_poll_t poll;
  napi_ref cb;
  napi_async_context actx;
  bool closed;         /* rawClose done (or finalizer closed it) */
  bool handle_closed;  /* uv_close callback ran */
  bool finalized;      /* JS external collected */
  unsigned char *buf;
} raw_sock_t;

static void raw_free(raw_sock_t *s) {
  free(s->buf);
  free(s);
}

static void on_handle_closed(uv_handle_t *h) {
  raw_sock_t *s = h->data;
  s->handle_closed = true;
  if (s->finalized) raw_free(s);
}

static void raw_do_close(raw_sock_t *s) {
  if (s->closed) return;
  s->closed = true;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_handle_closed);
  close(s->fd);
  s->fd = -1;
  if (s->cb) napi_delete_reference(s->env, s->cb);
  s->cb = NULL;
  if (s->actx) napi_async_destroy(s->env, s->actx);
  s->actx = NULL;
}

static void raw_finalize(napi_env env, void *data, void *hint) {
  raw_sock_t *s = data;
  s->finalized = true;
  raw_do_close(s);
  if (s->handle_closed) raw_free(s);
}

/* Parses an address of the socket's family; a "%scope" suffix is ignored (the socket's interface is the scope). */
static bool parse_addr(napi_env env, int family, const char *str, unsigned ifindex,
                       struct sockaddr_storage *ss, socklen_t *len) {
  char tmp[INET6_ADDRSTRLEN + 20];
  snprintf(tmp, sizeof tmp, "%s", str);
  char *pct = strchr(tmp, '%');
  if (pct) *pct = '\0';
  memset(ss, 0, sizeof *ss);
  if (family == 4) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    if (inet_pton(AF_INET, tmp, &sin->sin_addr) != 1) goto bad;
    *len = sizeof *sin;
  } else {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, tmp, &sin6->sin6_addr) != 1) goto bad;
    if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&sin6->sin6_addr))
      sin6->sin6_scope_id = ifindex;
    *len = sizeof *sin6;
  }
  return true;
bad:;
  char msg[128];
  snprintf(msg, sizeof msg, "invalid IPv%d address: %s", family, str);
  throw_type(env, msg);
  return false;
}

static void report_error(raw_sock_t *s, napi_value cb, int err) {
  napi_env env = s->env;
  napi_value global, argv[1], code, message;
  napi_get_global(env, &global);
  napi_create_string_utf8(env, strerrorname_np(err) ? strerrorname_np(err) : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &argv[0]);
  napi_make_callback(env, s->actx, global, cb, 1, argv, NULL);
}

/* Delivers one datagram; returns false if JS threw (the loop then stops). */
static bool deliver(raw_sock_t *s, napi_value cb, ssize_t n, struct sockaddr_storage *from, struct msghdr *msg) {
  napi_env env = s->env;
  char src[INET6_ADDRSTRLEN] = "", dst[INET6_ADDRSTRLEN] = "";
  int ttl = -1;
  unsigned ifindex = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      inet_ntop(AF_INET, &pi.ipi_addr, dst, sizeof dst);
      ifindex = pi.ipi_ifindex;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
      memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      inet_ntop(AF_INET6, &pi.ipi6_addr, dst, sizeof dst);
      ifindex = pi.ipi6_ifindex;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
      memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
    }
  }
  if (from->ss_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)from)->sin_addr, src, sizeof src);
  else if (from->ss_family == AF_INET6)
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)from)->sin6_addr, src, sizeof src);

  napi_value argv[6], global;
  napi_get_global(env, &global);
  napi_get_null(env, &argv[0]);
  napi_create_buffer_copy(env, (size_t)n, s->buf, NULL, &argv[1]);
  napi_create_string_utf8(env, src, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_string_utf8(env, dst, NAPI_AUTO_LENGTH, &argv[3]);
  napi_create_int32(env, ttl, &argv[4]);
  napi_create_uint32(env, ifindex, &argv[5]);
  if (napi_make_callback(env, s->actx, global, cb, 6, argv, NULL) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc); /* surfaces as 'uncaughtException', as for any JS callback */
    return false;
  }
  return true;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  raw_sock_t *s = h->data;
  if (s->closed) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb;
  napi_get_reference_value(env, s->cb, &cb);
  if (status < 0) {
    report_error(s, cb, -status);
    napi_close_handle_scope(env, scope);
    return;
  }
  for (int i = 0; i < MAX_PER_WAKEUP && !s->closed; i++) {
    struct sockaddr_storage from;
    unsigned char control[256];
    struct iovec iov = {.iov_base = s->buf, .iov_len = RECV_BUF};
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    memset(&from, 0, sizeof from);
    ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) report_error(s, cb, errno);
      break;
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) continue; /* never hand over a partial packet */
    napi_handle_scope inner;
    napi_open_handle_scope(env, &inner);
    bool ok = deliver(s, cb, n, &from, &msg);
    napi_close_handle_scope(env, inner);
    if (!ok) break;
  }
  napi_close_handle_scope(env, scope);
}

#define SETOPT(level, name, val)                                               \
  do {                                                                         \
    int v_ = (val);                                                            \
    if (setsockopt(fd, level, name, &v_, sizeof v_) < 0) { what = #name; goto fail; } \
  } while (0)

/* rawOpen(family 4|6, proto, {ifname?, bind?, group?, ttl?, tos?, hdrincl?, checksumOffset?}, cb) */
napi_value raw_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_type(env, "rawOpen(family, proto, options, callback)");
  int family = 0, proto = 0;
  if (napi_get_value_int32(env, argv[0], &family) != napi_ok || (family != 4 && family != 6))
    return throw_type(env, "family must be 4 or 6");
  if (napi_get_value_int32(env, argv[1], &proto) != napi_ok || proto < 1 || proto > 255)
    return throw_type(env, "proto must be 1..255");
  napi_valuetype t;
  napi_typeof(env, argv[3], &t);
  if (t != napi_function) return throw_type(env, "callback must be a function");

  char ifname[IF_NAMESIZE + 1] = "", bind_s[INET6_ADDRSTRLEN + 20] = "", group_s[INET6_ADDRSTRLEN + 20] = "";
  int ttl = 255, tos = 0xC0, hdrincl = family == 4, csum = (family == 6 && proto == 112) ? 6 : -1;
  if (get_opt_string(env, argv[2], "ifname", ifname, sizeof ifname) < 0) return NULL;
  if (get_opt_string(env, argv[2], "bind", bind_s, sizeof bind_s) < 0) return NULL;
  if (get_opt_string(env, argv[2], "group", group_s, sizeof group_s) < 0) return NULL;
  if (get_opt_int(env, argv[2], "ttl", &ttl) < 0) return NULL;
  if (get_opt_int(env, argv[2], "tos", &tos) < 0) return NULL;
  if (get_opt_int(env, argv[2], "hdrincl", &hdrincl) < 0) return NULL;
  if (get_opt_int(env, argv[2], "checksumOffset", &csum) < 0) return NULL;
  if (ttl < 1 || ttl > 255) return throw_type(env, "ttl must be 1..255");

  unsigned ifindex = 0;
  if (ifname[0] && !(ifindex = ifindex_of(env, ifname))) return NULL;
  if (group_s[0] && !ifindex) return throw_type(env, "joining a multicast group needs ifname");

  struct sockaddr_storage bind_ss, group_ss;
  socklen_t bind_len = 0, group_len = 0;
  if (bind_s[0] && !parse_addr(env, family, bind_s, ifindex, &bind_ss, &bind_len)) return NULL;
  if (group_s[0] && !parse_addr(env, family, group_s, ifindex, &group_ss, &group_len)) return NULL;

  const char *what = "socket";
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (ifname[0] && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen(ifname)) < 0) {
    what = "SO_BINDTODEVICE";
    goto fail;
  }
  if (family == 4) {
    if (hdrincl) SETOPT(IPPROTO_IP, IP_HDRINCL, 1);
    SETOPT(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    SETOPT(IPPROTO_IP, IP_MULTICAST_ALL, 0);
    SETOPT(IPPROTO_IP, IP_TTL, ttl);
    SETOPT(IPPROTO_IP, IP_MULTICAST_TTL, ttl);
    SETOPT(IPPROTO_IP, IP_TOS, tos);
    SETOPT(IPPROTO_IP, IP_PKTINFO, 1);
    SETOPT(IPPROTO_IP, IP_RECVTTL, 1);
    if (ifindex) {
      struct ip_mreqn mr = {.imr_ifindex = (int)ifindex};
      if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) < 0) { what = "IP_MULTICAST_IF"; goto fail; }
    }
    if (group_s[0]) {
      struct ip_mreqn mr = {.imr_multiaddr = ((struct sockaddr_in *)&group_ss)->sin_addr, .imr_ifindex = (int)ifindex};
      if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) { what = "IP_ADD_MEMBERSHIP"; goto fail; }
    }
  } else {
    SETOPT(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
    SETOPT(IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0);
    SETOPT(IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl);
    SETOPT(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, ttl);
    SETOPT(IPPROTO_IPV6, IPV6_TCLASS, tos);
    if (csum >= 0) SETOPT(IPPROTO_IPV6, IPV6_CHECKSUM, csum);
    SETOPT(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
    SETOPT(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    if (ifindex) SETOPT(IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)ifindex);
    if (group_s[0]) {
      struct ipv6_mreq mr = {.ipv6mr_multiaddr = ((struct sockaddr_in6 *)&group_ss)->sin6_addr, .ipv6mr_interface = ifindex};
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) { what = "IPV6_ADD_MEMBERSHIP"; goto fail; }
    }
  }
  if (bind_len && bind(fd, (struct sockaddr *)&bind_ss, bind_len) < 0) { what = "bind"; goto fail; }

  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) { close(fd); return throw_type(env, "no event loop"); }
  raw_sock_t *s = calloc(1, sizeof *s);
  unsigned char *buf = malloc(RECV_BUF);
  if (!s || !buf) { free(s); free(buf); close(fd); return throw_errno(env, "rawOpen", ENOMEM); }
  s->env = env;
  s->fd = fd;
  s->family = family;
  s->ifindex = ifindex;
  s->buf = buf;
  int rc = uv_poll_init(loop, &s->poll, fd);
  if (rc < 0) { raw_free(s); close(fd); return throw_errno(env, "uv_poll_init", -rc); }
  s->poll.data = s;
  napi_value name, handle;
  napi_create_string_utf8(env, "floatd.rawsocket", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &s->actx);
  napi_create_reference(env, argv[3], 1, &s->cb);
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (napi_create_external(env, s, raw_finalize, NULL, &handle) != napi_ok) {
    raw_do_close(s);
    s->finalized = true; /* freed by the uv_close callback */
    return NULL;
  }
  return handle;

fail:;
  int err = errno;
  close(fd);
  return throw_errno(env, what, err);
}

static raw_sock_t *get_sock(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_external || napi_get_value_external(env, v, &p) != napi_ok || !p) {
    throw_type(env, "not a raw socket handle");
    return NULL;
  }
  return p;
}

/* rawSend(handle, buffer, dst, src?) -> bytes sent. IPv6 src selects the source via IPV6_PKTINFO. */
napi_value raw_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_type(env, "rawSend(handle, buffer, dst, src?)");
  raw_sock_t *s = get_sock(env, argv[0]);
  if (!s) return NULL;
  if (s->closed) return throw_errno(env, "send on closed socket", EBADF);
  bool isbuf = false;
  napi_is_buffer(env, argv[1], &isbuf);
  if (!isbuf) return throw_type(env, "data must be a Buffer");
  void *data;
  size_t len;
  NAPI_TRY(env, napi_get_buffer_info(env, argv[1], &data, &len));
  char dst_s[INET6_ADDRSTRLEN + 20], src_s[INET6_ADDRSTRLEN + 20] = "";
  if (!get_string(env, argv[2], dst_s, sizeof dst_s, "dst")) return NULL;
  if (argc > 3) {
    napi_valuetype t;
    napi_typeof(env, argv[3], &t);
    if (t != napi_undefined && t != napi_null && !get_string(env, argv[3], src_s, sizeof src_s, "src")) return NULL;
  }
  struct sockaddr_storage dst;
  socklen_t dlen;
  if (!parse_addr(env, s->family, dst_s, s->ifindex, &dst, &dlen)) return NULL;
  bool mcast = s->family == 4 ? IN_MULTICAST(ntohl(((struct sockaddr_in *)&dst)->sin_addr.s_addr))
                              : IN6_IS_ADDR_MULTICAST(&((struct sockaddr_in6 *)&dst)->sin6_addr);
  struct iovec iov = {.iov_base = data, .iov_len = len};
  union { struct cmsghdr align; unsigned char b[CMSG_SPACE(sizeof(struct in6_pktinfo))]; } ctl;
  struct msghdr msg = {.msg_name = &dst, .msg_namelen = dlen, .msg_iov = &iov, .msg_iovlen = 1};
  if (src_s[0] && s->family == 6) {
    struct sockaddr_storage src;
    socklen_t slen;
    if (!parse_addr(env, 6, src_s, s->ifindex, &src, &slen)) return NULL;
    memset(&ctl, 0, sizeof ctl);
    msg.msg_control = ctl.b;
    msg.msg_controllen = sizeof ctl.b;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
    struct in6_pktinfo pi = {.ipi6_addr = ((struct sockaddr_in6 *)&src)->sin6_addr, .ipi6_ifindex = s->ifindex};
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
  /* Multicast adverts never leave the link, so skip routing (as keepalived does). */
  ssize_t n;
  do n = sendmsg(s->fd, &msg, mcast ? MSG_DONTROUTE : 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "send", errno);
  napi_value r;
  napi_create_int64(env, n, &r);
  return r;
}

/* Fetches up to n arguments, the first being a socket handle; NULL with an exception on misuse. */
static raw_sock_t *sock_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
    throw_type(env, usage);
    return NULL;
  }
  return get_sock(env, argv[0]);
}

napi_value raw_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  raw_sock_t *s = sock_args(env, info, 1, argv, "rawClose(handle)");
  if (s) raw_do_close(s);
  return NULL;
}

/* rawSetRef(handle, bool): whether the open socket keeps the process alive. */
napi_value raw_set_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  raw_sock_t *s = sock_args(env, info, 2, argv, "rawSetRef(handle, bool)");
  if (!s) return NULL;
  bool ref = true;
  napi_get_value_bool(env, argv[1], &ref);
  if (!s->closed) {
    if (ref) uv_ref((uv_handle_t *)&s->poll);
    else uv_unref((uv_handle_t *)&s->poll);
  }
  return NULL;
}
