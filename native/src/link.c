/*
 * Link-layer helpers: send one ready-made Ethernet frame (gratuitous ARP, unsolicited NA)
 * on an interface through AF_PACKET, and read an interface's index, MAC, flags and MTU.
 */
#include "common.h"
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

/* sendFrame(ifname, buffer) -> bytes sent. The frame starts with the Ethernet header. */
napi_value link_send_frame(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_type(env, "sendFrame(ifname, buffer)");
  char ifname[IF_NAMESIZE + 1];
  if (!get_string(env, argv[0], ifname, sizeof ifname, "ifname")) return NULL;
  bool isbuf = false;
  napi_is_buffer(env, argv[1], &isbuf);
  if (!isbuf) return throw_type(env, "frame must be a Buffer");
  unsigned char *data;
  size_t len;
  NAPI_TRY(env, napi_get_buffer_info(env, argv[1], (void **)&data, &len));
  if (len < ETH_HLEN) return throw_type(env, "frame shorter than an Ethernet header");
  unsigned idx = ifindex_of(env, ifname);
  if (!idx) return NULL;
  /* Protocol 0: this socket only sends, so it never queues received frames. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_PACKET)", errno);
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)idx, .sll_halen = ETH_ALEN};
  memcpy(&sll.sll_protocol, data + 12, 2);
  memcpy(sll.sll_addr, data, ETH_ALEN);
  ssize_t n = sendto(fd, data, len, 0, (struct sockaddr *)&sll, sizeof sll);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "sendto(AF_PACKET)", err);
  napi_value r;
  napi_create_int64(env, n, &r);
  return r;
}

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

/* ifInfo(ifname) -> {ifindex, mac, hwtype, flags, up, running, noarp, mtu} */
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
  const char *what;
  int ifindex, flags, mtu;
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) { what = "SIOCGIFINDEX"; goto fail; }
  ifindex = ifr.ifr_ifindex;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) { what = "SIOCGIFFLAGS"; goto fail; }
  flags = ifr.ifr_flags;
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) { what = "SIOCGIFMTU"; goto fail; }
  mtu = ifr.ifr_mtu;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { what = "SIOCGIFHWADDR"; goto fail; }
  close(fd);

  napi_value obj, mac;
  napi_create_object(env, &obj);
  const unsigned char *m = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
  char macs[18];
  snprintf(macs, sizeof macs, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  napi_create_string_utf8(env, macs, NAPI_AUTO_LENGTH, &mac);
  napi_set_named_property(env, obj, "mac", mac);
  set_num(env, obj, "ifindex", ifindex);
  set_num(env, obj, "hwtype", ifr.ifr_hwaddr.sa_family);
  set_num(env, obj, "flags", (unsigned short)flags);
  set_bool(env, obj, "up", flags & IFF_UP);
  set_bool(env, obj, "running", flags & IFF_RUNNING);
  set_bool(env, obj, "noarp", flags & IFF_NOARP);
  set_num(env, obj, "mtu", mtu);
  return obj;
fail:;
  int err = errno;
  close(fd);
  char msg[64];
  snprintf(msg, sizeof msg, "%s %s", what, ifr.ifr_name);
  return throw_errno(env, msg, err);
}
