// Preloaded (`--import`) into the service `tsk dev` runs. The service sits in a process group
// of its own, so a hangup or a SIGKILL that ends tsk dev never reaches it; left running, it
// would keep its ports and answer with old code while the next tsk dev cannot start. When
// tsk dev is gone (the service is handed to another parent), the service stops as on SIGTERM.
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(watch);
  process.kill(process.pid, 'SIGTERM');
}, 500);
// The watch alone never keeps a stopping service alive.
watch.unref();
