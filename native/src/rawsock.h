/* Receive-side metadata of a raw VRRP socket, parsed from control messages (shared with the
 * test hook that feeds crafted control messages through the same parser). */
#ifndef FLOATD_RAWSOCK_H
#define FLOATD_RAWSOCK_H
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

typedef struct {
  char dst[INET6_ADDRSTRLEN];
  int ttl;
  unsigned ifindex;
} recv_meta_t;

/* Destination, TTL/hop limit and interface from IP_PKTINFO/IP_TTL/IPV6_PKTINFO/IPV6_HOPLIMIT;
 * a control message shorter than its payload type is ignored. */
void parse_control(struct msghdr *msg, recv_meta_t *m);
#endif
