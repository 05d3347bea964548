/* One datagram to an AF_UNIX SOCK_DGRAM socket: systemd's sd_notify protocol ($NOTIFY_SOCKET),
 * which Node's dgram module cannot speak. A leading '@' names an abstract-namespace socket. */
#include "common.h"
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

napi_value unix_dgram_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_TRY(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_type(env, "unixDgramSend(path, data) needs two arguments");
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  char path[sizeof sa.sun_path + 1];
  if (!get_string(env, argv[0], path, sizeof path, "path")) return NULL;
  size_t plen = strlen(path);
  if (plen == 0) return throw_type(env, "path is empty");
  /* A filesystem path needs its NUL inside sun_path; an abstract name ('@') does not. */
  if (path[0] != '@' && plen >= sizeof sa.sun_path) return throw_type(env, "path is too long");
  bool isbuf = false;
  napi_is_buffer(env, argv[1], &isbuf);
  if (!isbuf) return throw_type(env, "data must be a Buffer");
  void *data = NULL;
  size_t len = 0;
  NAPI_TRY(env, napi_get_buffer_info(env, argv[1], &data, &len));
  memcpy(sa.sun_path, path, plen);
  if (path[0] == '@') sa.sun_path[0] = '\0';
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '@' ? 0 : 1));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_UNIX, SOCK_DGRAM)", errno);
  /* Never block the event loop: a full queue drops the message (the caller logs it). */
  ssize_t n = sendto(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "sendto(NOTIFY_SOCKET)", err);
  napi_value out;
  NAPI_TRY(env, napi_create_int64(env, (int64_t)n, &out));
  return out;
}
