/*
 * Raw IP sockets for VRRP (protocol 112, or 51 for AH) wired into Node's event loop.
 * One socket = one (family, protocol, interface, multicast group | unicast address), the
 * way keepalived pools its read sockets. Readiness comes from uv_poll; every wakeup drains
 * the socket with recvmsg and hands each datagram to JS with its source, destination,
 * TTL/hop limit and arrival interface. Everything about packet contents lives in TypeScript.
 */
#include "fdwatch.h"
#include "rawsock.h"
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
  fdwatch_t w; /* first: the handle's lifecycle */
  int family;
  unsigned ifindex;
  unsigned char *buf;
} raw_sock_t;

static void raw_free_extra(fdwatch_t *w) { free(((raw_sock_t *)w)->buf); }

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

/* Copies a control message's payload only if the kernel gave at least `size` bytes of it. */
static bool cmsg_copy(const struct cmsghdr *c, void *out, size_t size) {
  if (c->cmsg_len < CMSG_LEN(size)) return false;
  memcpy(out, CMSG_DATA(c), size);
  return true;
}

void parse_control(struct msghdr *msg, recv_meta_t *m) {
  m->dst[0] = '\0';
  m->ttl = -1;
  m->ifindex = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      if (!cmsg_copy(c, &pi, sizeof pi)) continue;
      inet_ntop(AF_INET, &pi.ipi_addr, m->dst, sizeof m->dst);
      m->ifindex = pi.ipi_ifindex;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
      cmsg_copy(c, &m->ttl, sizeof m->ttl);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      if (!cmsg_copy(c, &pi, sizeof pi)) continue;
      inet_ntop(AF_INET6, &pi.ipi6_addr, m->dst, sizeof m->dst);
      m->ifindex = pi.ipi6_ifindex;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
      cmsg_copy(c, &m->ttl, sizeof m->ttl);
    }
  }
}

/* Delivers one datagram; returns false if JS threw (this wakeup then stops draining). */
static bool deliver(raw_sock_t *s, napi_value cb, ssize_t n, struct sockaddr_storage *from, struct msghdr *msg) {
  napi_env env = s->w.env;
  char src[INET6_ADDRSTRLEN] = "";
  recv_meta_t m;
  parse_control(msg, &m);
  if (from->ss_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)from)->sin_addr, src, sizeof src);
  else if (from->ss_family == AF_INET6)
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)from)->sin6_addr, src, sizeof src);

  napi_value argv[6];
  napi_get_null(env, &argv[0]);
  napi_create_buffer_copy(env, (size_t)n, s->buf, NULL, &argv[1]);
  napi_create_string_utf8(env, src, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_string_utf8(env, m.dst, NAPI_AUTO_LENGTH, &argv[3]);
  napi_create_int32(env, m.ttl, &argv[4]);
  napi_create_uint32(env, m.ifindex, &argv[5]);
  return fdwatch_call(&s->w, cb, 6, argv);
}

static void on_readable(fdwatch_t *w, napi_value cb) {
  raw_sock_t *s = (raw_sock_t *)w;
  napi_env env = w->env;
  for (int i = 0; i < MAX_PER_WAKEUP && !w->closed; i++) {
    struct sockaddr_storage from;
    union { struct cmsghdr align; unsigned char b[256]; } control;
    struct iovec iov = {.iov_base = s->buf, .iov_len = RECV_BUF};
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = control.b, .msg_controllen = sizeof control.b};
    memset(&from, 0, sizeof from);
    ssize_t n = recvmsg(w->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) fdwatch_report(w, cb, errno, false);
      break;
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) continue; /* never hand over a partial packet */
    napi_handle_scope inner;
    napi_open_handle_scope(env, &inner);
    bool ok = deliver(s, cb, n, &from, &msg);
    napi_close_handle_scope(env, inner);
    if (!ok) break;
  }
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

  char ifname[IF_NAMESIZE] = "", bind_s[INET6_ADDRSTRLEN + 20] = "", group_s[INET6_ADDRSTRLEN + 20] = "";
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

  unsigned char *buf = malloc(RECV_BUF);
  if (!buf) { close(fd); return throw_errno(env, "rawOpen", ENOMEM); }
  fdwatch_t *w;
  napi_value handle = fdwatch_create(env, fd, KIND_RAW, sizeof(raw_sock_t), argv[3], on_readable, &w);
  if (!handle) { free(buf); return NULL; }
  raw_sock_t *s = (raw_sock_t *)w;
  s->family = family;
  s->ifindex = ifindex;
  s->buf = buf;
  w->free_extra = raw_free_extra;
  return handle;

fail:;
  int err = errno;
  close(fd);
  return throw_errno(env, what, err);
}

static raw_sock_t *get_sock(napi_env env, napi_value v) {
  return (raw_sock_t *)fdwatch_get(env, v, KIND_RAW, "raw socket");
}

/* rawSend(handle, buffer, dst, src?) -> bytes sent. IPv6 src selects the source via IPV6_PKTINFO. */
napi_value raw_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_type(env, "rawSend(handle, buffer, dst, src?)");
  raw_sock_t *s = get_sock(env, argv[0]);
  if (!s) return NULL;
  if (s->w.closed) return throw_errno(env, "send on closed socket", EBADF);
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
  do n = sendmsg(s->w.fd, &msg, mcast ? MSG_DONTROUTE : 0);
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
  if (s) fdwatch_close(&s->w);
  return NULL;
}

/* rawSetRef(handle, bool): whether the open socket keeps the process alive. */
napi_value raw_set_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  raw_sock_t *s = sock_args(env, info, 2, argv, "rawSetRef(handle, bool)");
  if (!s) return NULL;
  bool ref = true;
  napi_get_value_bool(env, argv[1], &ref);
  fdwatch_set_ref(&s->w, ref);
  return NULL;
}

/* _parseControl(buffer) -> {dst, ttl, ifindex}: runs crafted control messages (cmsghdr
 * sequences) through the receive path's parser; tests use it to prove short ones are ignored. */
napi_value raw_parse_control(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool isbuf = false;
  if (argc < 1 || napi_is_buffer(env, argv[0], &isbuf) != napi_ok || !isbuf) return throw_type(env, "_parseControl(buffer)");
  void *data;
  size_t len;
  NAPI_TRY(env, napi_get_buffer_info(env, argv[0], &data, &len));
  union { struct cmsghdr align; unsigned char b[512]; } control;
  if (len > sizeof control.b) return throw_type(env, "control buffer too long");
  memset(&control, 0, sizeof control);
  memcpy(control.b, data, len);
  struct msghdr msg = {.msg_control = control.b, .msg_controllen = len};
  recv_meta_t m;
  parse_control(&msg, &m);
  napi_value obj, v;
  NAPI_TRY(env, napi_create_object(env, &obj));
  napi_create_string_utf8(env, m.dst, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "dst", v);
  napi_create_int32(env, m.ttl, &v);
  napi_set_named_property(env, obj, "ttl", v);
  napi_create_uint32(env, m.ifindex, &v);
  napi_set_named_property(env, obj, "ifindex", v);
  return obj;
}
