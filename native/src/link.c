/*
 * Link-layer helpers. A packet socket per interface, opened once and kept: gratuitous ARP and
 * unsolicited NA frames go out through it without blocking (MSG_DONTWAIT on a non-blocking
 * socket; opening and closing an AF_PACKET socket per frame costs an RCU grace period, 7-20 ms,
 * on the event loop). The same descriptor answers the interface's MAC, flags and MTU, so a
 * process out of descriptors can still announce. ifInfo(ifname) is the one-shot variant.
 */
#include "fdwatch.h"
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  fdwatch_t w;
  int ifindex;
} packet_sock_t;

static void set_num(napi_env env, napi_value obj, const char *k, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, obj, k, x);
}

static void set_bool(napi_env env, napi_value obj, const char *k, bool v) {
  napi_value x;
  napi_get_boolean(env, v, &x);
  napi_set_named_property(env, obj, k, x);
}

/* {ifname, ifindex, mac, hwtype, flags, up, running, noarp, mtu} by ioctls on fd; ifr names the
 * interface (ifr_name set, or ifr_ifindex set and name_from_index). */
static napi_value info_by_fd(napi_env env, int fd, struct ifreq *ifr, bool name_from_index) {
  const char *what;
  int ifindex, flags, mtu;
  if (name_from_index) {
    if (ioctl(fd, SIOCGIFNAME, ifr) < 0) { what = "SIOCGIFNAME"; goto fail; }
  }
  if (ioctl(fd, SIOCGIFINDEX, ifr) < 0) { what = "SIOCGIFINDEX"; goto fail; }
  ifindex = ifr->ifr_ifindex;
  if (ioctl(fd, SIOCGIFFLAGS, ifr) < 0) { what = "SIOCGIFFLAGS"; goto fail; }
  flags = ifr->ifr_flags;
  if (ioctl(fd, SIOCGIFMTU, ifr) < 0) { what = "SIOCGIFMTU"; goto fail; }
  mtu = ifr->ifr_mtu;
  if (ioctl(fd, SIOCGIFHWADDR, ifr) < 0) { what = "SIOCGIFHWADDR"; goto fail; }

  napi_value obj, s;
  NAPI_TRY(env, napi_create_object(env, &obj));
  const unsigned char *m = (const unsigned char *)ifr->ifr_hwaddr.sa_data;
  char macs[18];
  snprintf(macs, sizeof macs, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  napi_create_string_utf8(env, macs, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, obj, "mac", s);
  napi_create_string_utf8(env, ifr->ifr_name, strnlen(ifr->ifr_name, IF_NAMESIZE), &s);
  napi_set_named_property(env, obj, "ifname", s);
  set_num(env, obj, "ifindex", ifindex);
  set_num(env, obj, "hwtype", ifr->ifr_hwaddr.sa_family);
  set_num(env, obj, "flags", (unsigned short)flags);
  set_bool(env, obj, "up", flags & IFF_UP);
  set_bool(env, obj, "running", flags & IFF_RUNNING);
  set_bool(env, obj, "noarp", flags & IFF_NOARP);
  set_num(env, obj, "mtu", mtu);
  return obj;
fail:;
  int err = errno;
  char msg[64];
  snprintf(msg, sizeof msg, "%s %.*s", what, IF_NAMESIZE, ifr->ifr_name);
  return throw_errno(env, msg, err);
}

/* ifInfo(ifname) -> {ifname, ifindex, mac, hwtype, flags, up, running, noarp, mtu} */
napi_value link_if_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "ifInfo(ifname)");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (!get_string(env, argv[0], ifr.ifr_name, IF_NAMESIZE, "ifname")) return NULL;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  napi_value r = info_by_fd(env, fd, &ifr, false);
  close(fd);
  return r;
}

/* packetOpen(ifname) -> handle: a send-only (protocol 0) non-blocking AF_PACKET socket. */
napi_value packet_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "packetOpen(ifname)");
  char ifname[IF_NAMESIZE];
  if (!get_string(env, argv[0], ifname, sizeof ifname, "ifname")) return NULL;
  unsigned idx = ifindex_of(env, ifname);
  if (!idx) return NULL;
  /* Protocol 0: this socket only sends, so it never queues received frames. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_PACKET)", errno);
  fdwatch_t *w;
  napi_value h = fdwatch_create(env, fd, KIND_PACKET, sizeof(packet_sock_t), NULL, NULL, &w);
  if (h) ((packet_sock_t *)w)->ifindex = (int)idx;
  return h;
}

static packet_sock_t *packet_arg(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
    throw_type(env, usage);
    return NULL;
  }
  packet_sock_t *p = (packet_sock_t *)fdwatch_get(env, argv[0], KIND_PACKET, "packet socket");
  if (p && p->w.closed) {
    throw_errno(env, "packet socket", EBADF);
    return NULL;
  }
  return p;
}

/* packetSend(handle, frame) -> bytes sent; never blocks (a full queue throws EAGAIN). */
napi_value packet_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  packet_sock_t *p = packet_arg(env, info, 2, argv, "packetSend(handle, frame)");
  if (!p) return NULL;
  bool isbuf = false;
  napi_is_buffer(env, argv[1], &isbuf);
  if (!isbuf) return throw_type(env, "frame must be a Buffer");
  unsigned char *data;
  size_t len;
  NAPI_TRY(env, napi_get_buffer_info(env, argv[1], (void **)&data, &len));
  if (len < ETH_HLEN) return throw_type(env, "frame shorter than an Ethernet header");
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = p->ifindex, .sll_halen = ETH_ALEN};
  memcpy(&sll.sll_protocol, data + 12, 2);
  memcpy(sll.sll_addr, data, ETH_ALEN);
  ssize_t n;
  do n = sendto(p->w.fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&sll, sizeof sll);
  while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "sendto(AF_PACKET)", errno);
  napi_value r;
  napi_create_int64(env, n, &r);
  return r;
}

/* packetInfo(handle) -> ifInfo of the socket's interface, through the kept descriptor. */
napi_value packet_info(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  packet_sock_t *p = packet_arg(env, info, 1, argv, "packetInfo(handle)");
  if (!p) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_ifindex = p->ifindex;
  return info_by_fd(env, p->w.fd, &ifr, true);
}

napi_value packet_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "packetClose(handle)");
  fdwatch_t *w = fdwatch_get(env, argv[0], KIND_PACKET, "packet socket");
  if (w) fdwatch_close(w);
  return NULL;
}
