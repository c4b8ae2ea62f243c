#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A fixed set of worker threads that run one data-parallel job at a time.
///
/// `run` hands the same closure to every thread (`body(threadIndex)`, the caller is thread 0) and
/// returns when all have finished. Idle workers **block** on a condition variable instead of spinning:
/// llama.cpp's spinning workers collapse when the machine is shared (issue 4: 0.4 tokens/s at 2 threads
/// on a loaded 2-core box), while a blocked thread costs nothing. Waking costs a few microseconds per
/// job, which is why the forward pass batches independent matrices into one job.
final class ThreadPool: @unchecked Sendable {
  // @unchecked: all mutable state is guarded by `mutex`; `job` is only read by workers between the
  // generation bump and their `pending` decrement, while the caller is blocked in `run`.
  /// Number of threads that run each job, including the caller.
  let threadCount: Int
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let wake: UnsafeMutablePointer<pthread_cond_t>
  private let done: UnsafeMutablePointer<pthread_cond_t>
  private var generation = 0
  private var pending = 0
  private var stopping = false
  private var job: ((Int) -> Void)?
  private var threads: [pthread_t] = []

  /// Starts `threadCount - 1` workers (`threadCount` is clamped to 1...256).
  init(threadCount: Int) {
    self.threadCount = max(1, min(256, threadCount))
    mutex = .allocate(capacity: 1)
    wake = .allocate(capacity: 1)
    done = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(wake, nil)
    pthread_cond_init(done, nil)
    for index in 1..<self.threadCount {
      let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
      var thread = pthread_t()
      let rc = pthread_create(&thread, nil, { raw in
        guard let raw else { return nil }
        let context = Unmanaged<WorkerContext>.fromOpaque(raw).takeRetainedValue()
        context.pool.workerLoop(index: context.index)
        return nil
      }, context)
      if rc == 0 {
        threads.append(thread)
      } else {
        Unmanaged<WorkerContext>.fromOpaque(context).release()
      }
    }
  }

  /// Number of worker threads actually running (may be fewer than requested if creation failed).
  var runningThreadCount: Int { threads.count &+ 1 }

  /// Stops and joins the workers. Must be called before the pool is dropped (workers hold it).
  func shutdown() {
    pthread_mutex_lock(mutex)
    stopping = true
    pthread_cond_broadcast(wake)
    pthread_mutex_unlock(mutex)
    for t in threads { pthread_join(t, nil) }
    threads = []
  }

  deinit {
    pthread_cond_destroy(wake)
    pthread_cond_destroy(done)
    pthread_mutex_destroy(mutex)
    wake.deallocate()
    done.deallocate()
    mutex.deallocate()
  }

  /// Runs `body(i)` for every `i` in `0..<runningThreadCount`, in parallel, and waits for all.
  /// Does not allocate: the closure is non-escaping and is only borrowed for the duration of the call.
  func run(_ body: (Int) -> Void) {
    let workers = threads.count
    if workers == 0 {
      body(0)
      return
    }
    withoutActuallyEscaping(body) { escapable in
      pthread_mutex_lock(mutex)
      job = escapable
      pending = workers
      generation &+= 1
      pthread_cond_broadcast(wake)
      pthread_mutex_unlock(mutex)
      escapable(0)
      pthread_mutex_lock(mutex)
      while pending > 0 { pthread_cond_wait(done, mutex) }
      job = nil
      pthread_mutex_unlock(mutex)
    }
  }

  private func workerLoop(index: Int) {
    var seen = 0  // generation starts at 0: a job posted before this thread started still runs
    pthread_mutex_lock(mutex)
    while true {
      while generation == seen && !stopping { pthread_cond_wait(wake, mutex) }
      if stopping { break }
      seen = generation
      let current = job
      pthread_mutex_unlock(mutex)
      current?(index)
      pthread_mutex_lock(mutex)
      pending &-= 1
      if pending == 0 { pthread_cond_signal(done) }
    }
    pthread_mutex_unlock(mutex)
  }
}

private final class WorkerContext {
  let pool: ThreadPool
  let index: Int
  init(pool: ThreadPool, index: Int) {
    self.pool = pool
    self.index = index
  }
}
