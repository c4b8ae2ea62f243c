#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Synchronization

/// A fixed set of worker threads that run one data-parallel job at a time.
///
/// `run` hands the same closure to every thread (`body(threadIndex)`, the caller is thread 0) and
/// returns when all have finished. Between jobs a worker first watches for the next one for a short,
/// bounded time (`spinNanoseconds`, ~50 µs: the gap between two products of one forward pass), then
/// **blocks** on a condition variable: llama.cpp's workers spin until the next job comes, which collapses
/// when the machine is shared (issue 4: 0.4 tokens/s at 2 threads on a loaded 2-core box), while a blocked
/// thread costs nothing. The short watch saves the wake-up latency of a blocked thread (tens of µs, once
/// per product: ~150 products per generated token) when the machine is quiet; the caller waits for the
/// workers the same way.
final class ThreadPool: @unchecked Sendable {
  // @unchecked: the mutable state is atomics, or guarded by `mutex`; `job` is written by the caller only
  // while no worker reads it (before the generation bump that publishes it, after every worker finished).
  /// Number of threads that run each job, including the caller.
  let threadCount: Int
  /// How long a thread watches for work (or the caller for completion) before blocking.
  let spinNanoseconds: UInt64
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let wake: UnsafeMutablePointer<pthread_cond_t>
  private let done: UnsafeMutablePointer<pthread_cond_t>
  /// Bumped once per job (sequentially consistent: it pairs with `sleepers`, see `run`).
  private let generation = Atomic<Int>(0)
  /// Workers that have not finished the current job.
  private let pending = Atomic<Int>(0)
  /// Workers blocked (or about to block) on `wake`.
  private let sleepers = Atomic<Int>(0)
  /// Whether the caller is blocked (or about to block) on `done`.
  private let callerSleeping = Atomic<Bool>(false)
  private let stopping = Atomic<Bool>(false)
  private var job: ((Int) -> Void)?
  private var threads: [pthread_t] = []

  /// Starts `threadCount - 1` workers (`threadCount` is clamped to 1...256).
  init(threadCount: Int, spinNanoseconds: UInt64 = 50_000) {
    self.threadCount = max(1, min(256, threadCount))
    self.spinNanoseconds = spinNanoseconds
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
    stopping.store(true, ordering: .sequentiallyConsistent)
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

  /// Monotonic nanoseconds.
  @inline(__always)
  private static func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    // can't overflow: a monotonic clock's seconds since boot times 1e9 fit in 64 bits for centuries
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }

  /// Watches `condition` for up to `spinNanoseconds`; true as soon as it holds.
  @inline(__always)
  private func spin(until condition: () -> Bool) -> Bool {
    if spinNanoseconds == 0 { return condition() }
    let deadline = Self.now() &+ spinNanoseconds
    while true {
      for _ in 0..<64 where condition() { return true }
      if Self.now() >= deadline { return condition() }
    }
  }

  /// Jobs smaller than this (in multiply-adds, or a comparable count of inner-loop steps) are not worth
  /// the workers: `run(work:_:)` runs them on the caller. Waking a blocked worker costs tens of µs, and on
  /// a loaded machine a descheduled worker holds its share for up to a time slice; 2^18 multiply-adds
  /// take ~30 µs on one core. Measured (2 threads, load ~5, whole default scan of the tiny `deployment`
  /// sample, CPU seconds): every job parallel 9.8, inline below 2^16 6.6, 2^18 4.1, 2^20 4.0, one thread
  /// 3.2. SmolLM2's decode keeps its q/k/v, output and FFN products parallel (>= 2^18 each).
  static let inlineWork = 1 << 18

  /// `run(body)`, unless the job is smaller than `inlineWork`: then the caller runs every share
  /// (`body(0)`, `body(1)`, ... in order) itself. Each share writes its own slice, so the results are
  /// bit-identical either way; only which thread computes them changes.
  func run(work: Int, _ body: (Int) -> Void) {
    if work < Self.inlineWork || threads.isEmpty {
      for index in 0..<runningThreadCount { body(index) }
      return
    }
    run(body)
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
      job = escapable
      pending.store(workers, ordering: .sequentiallyConsistent)
      generation.add(1, ordering: .sequentiallyConsistent)
      // A worker registers in `sleepers` before its last look at `generation` (both sequentially
      // consistent): either it sees the new generation or we see it registered and wake it.
      if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
      }
      escapable(0)
      if !spin(until: { pending.load(ordering: .acquiring) == 0 }) {
        pthread_mutex_lock(mutex)
        callerSleeping.store(true, ordering: .sequentiallyConsistent)
        while pending.load(ordering: .sequentiallyConsistent) > 0 { pthread_cond_wait(done, mutex) }
        callerSleeping.store(false, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
      }
      job = nil
    }
  }

  private func workerLoop(index: Int) {
    var seen = 0  // generation starts at 0: a job posted before this thread started still runs
    while true {
      if !spin(until: { generation.load(ordering: .acquiring) != seen || stopping.load(ordering: .relaxed) }) {
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while generation.load(ordering: .sequentiallyConsistent) == seen && !stopping.load(ordering: .sequentiallyConsistent) {
          pthread_cond_wait(wake, mutex)
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
      }
      if stopping.load(ordering: .sequentiallyConsistent) { break }
      seen = generation.load(ordering: .acquiring)
      job?(index)
      // The last worker out wakes the caller if it blocked (it registers before its last look at `pending`).
      if pending.subtract(1, ordering: .sequentiallyConsistent).newValue == 0, callerSleeping.load(ordering: .sequentiallyConsistent) {
        pthread_mutex_lock(mutex)
        pthread_cond_signal(done)
        pthread_mutex_unlock(mutex)
      }
    }
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
