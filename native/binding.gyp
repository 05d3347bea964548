{
  "targets": [
    {
      "target_name": "floatd_native",
      "sources": ["src/addon.c", "src/rawsock.c", "src/link.c", "src/notify.c", "src/sched.c",
                  "src/fdwatch.c", "src/netlink.c", "src/pidfd.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    }
  ]
}
