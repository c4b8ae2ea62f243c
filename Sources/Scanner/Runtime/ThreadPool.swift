#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Synchronization

/// A fixed set of worker threads that run one data-parallel job at a time.
///
/// A job is `chunks` independent pieces of work; the caller and the workers take chunks one at a time from a
/// shared counter until none is left (`run(work:chunks:_:)`, `body(chunk, thread)`, the caller is thread
/// 0), and `run` returns when every chunk has finished. Which thread runs a chunk changes nothing in its
/// result, and nobody waits for a thread that is not running: on a shared machine a descheduled or
/// still-waking worker simply takes fewer chunks (with a fixed share per thread, the caller would wait up to
/// a time slice for the late thread's share; measured: SmolLM2 tg64 23-28 t/s with one core busy elsewhere,
/// where llama.cpp kept ~70). Between jobs a worker first watches for the next one for a short, bounded
/// time (`spinNanoseconds`, ~50 µs: the gap between two products of one forward pass), then **blocks** on
/// a condition variable: llama.cpp's workers spin until the next job comes, which collapses when the
/// machine is shared (issue 4: 0.4 tokens/s at 2 threads on a loaded 2-core box), while a blocked thread
/// costs nothing. The caller waits for the last chunks the same way.
final class ThreadPool: @unchecked Sendable {
  // @unchecked: the mutable state is atomics, or guarded by `mutex`; `job` is written by the caller only
  // while no worker reads it (before the ticket store that publishes a job; after every chunk finished, and
  // a worker reads it only after claiming an unfinished chunk).
  /// Number of threads that run each job, including the caller.
  let threadCount: Int
  /// How long a thread watches for work (or the caller for completion) before blocking.
  let spinNanoseconds: UInt64
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let wake: UnsafeMutablePointer<pthread_cond_t>
  private let done: UnsafeMutablePointer<pthread_cond_t>
  /// The current job and its next chunk in one word: generation (bits 32...63, bumped once per job),
  /// chunk count (bits 16...31) and the next unclaimed chunk (bits 0...15). A claim is one `add(1)`: the
  /// old value says which job's chunk it got, or that the job had none left (each thread stops after one
  /// such miss, so the low field never carries into the count: `maxChunks` leaves room for 256 misses).
  /// Sequentially consistent: the publishing store pairs with `sleepers`, see `run`.
  private let ticket = Atomic<UInt64>(0)
  /// Chunks of the current job that have finished.
  private let completed = Atomic<Int>(0)
  /// Workers blocked (or about to block) on `wake`.
  private let sleepers = Atomic<Int>(0)
  /// Whether the caller is blocked (or about to block) on `done`.
  private let callerSleeping = Atomic<Bool>(false)
  private let stopping = Atomic<Bool>(false)
  private var job: ((Int, Int) -> Void)?
  private var threads: [pthread_t] = []

  /// Most chunks one job may have (the ticket's 16-bit fields, less room for one miss per thread).
  static let maxChunks = 65_535 - 256

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

  /// Watches `condition` for up to `spinNanoseconds`; true as soon as it holds. The clock is read once per
  /// 256 looks (a look is one atomic load; the clock read costs ~20 of them).
  @inline(__always)
  private func spin(until condition: () -> Bool) -> Bool {
    if spinNanoseconds == 0 { return condition() }
    let deadline = Self.now() &+ spinNanoseconds
    while true {
      for _ in 0..<256 where condition() { return true }
      if Self.now() >= deadline { return condition() }
    }
  }

  /// Jobs smaller than this (in multiply-adds, or a comparable count of inner-loop steps) are not worth
  /// the workers: `run(work:_:)` runs them on the caller. Waking a blocked worker costs tens of µs, and on
  /// a loaded machine a descheduled worker holds its share for up to a time slice; 2^18 multiply-adds
  /// take ~30 µs on one core. Measured (2 threads, load ~5, whole default scan of the tiny `deployment`
  /// sample, CPU seconds): every job parallel 9.8, inline below 2^16 6.6, 2^18 4.1, 2^20 4.0, one thread
  /// 3.2. SmolLM2's decode keeps its q/k/v, output and FFN products parallel (>= 2^18 each).
  static let inlineWork = runtimeTuning("SCAN_INLINE_WORK", default: 1 << 18)

  /// `run(chunks:body)`, unless the job is smaller than `inlineWork`: then the caller runs every chunk
  /// (`body(0, 0)`, `body(1, 0)`, ... in order) itself. Each chunk writes its own slice, so the results are
  /// bit-identical either way; only which thread computes them changes.
  func run(work: Int, chunks: Int, _ body: (_ chunk: Int, _ thread: Int) -> Void) {
    if work < Self.inlineWork || threads.isEmpty {
      for chunk in 0..<chunks { body(chunk, 0) }
      return
    }
    run(chunks: chunks, body)
  }

  /// Runs `body(i)` once for every share `i` in `0..<runningThreadCount`, in parallel, and waits for all.
  /// Shares are chunks: a thread may run more than one (one after the other) when another is late.
  func run(_ body: (Int) -> Void) {
    run(chunks: runningThreadCount) { chunk, _ in body(chunk) }
  }

  /// Runs `body(chunk, thread)` once for every chunk in `0..<chunks` (at most `maxChunks`), spread over
  /// the threads as they come (`thread` in `0..<runningThreadCount`, for per-thread scratch), and waits
  /// for all. Does not allocate: the closure is non-escaping and is only borrowed for the duration of the call.
  func run(chunks: Int, _ body: (_ chunk: Int, _ thread: Int) -> Void) {
    precondition(chunks >= 0 && chunks <= Self.maxChunks, "ThreadPool.run: \(chunks) chunks")
    if threads.isEmpty || chunks <= 1 {
      for chunk in 0..<chunks { body(chunk, 0) }
      return
    }
    withoutActuallyEscaping(body) { escapable in
      job = escapable
      completed.store(0, ordering: .relaxed)
      // can't overflow: the generation field wraps in the top 32 bits (&+ on UInt64 drops the carry out)
      let generation = (ticket.load(ordering: .relaxed) >> 32) &+ 1
      ticket.store(generation << 32 | UInt64(chunks) << 16, ordering: .sequentiallyConsistent)
      // A worker registers in `sleepers` before its last look at `ticket` (both sequentially
      // consistent): either it sees the new job or we see it registered and wake it.
      if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
      }
      _ = runChunks(thread: 0)
      if !spin(until: { completed.load(ordering: .acquiring) == chunks }) {
        pthread_mutex_lock(mutex)
        callerSleeping.store(true, ordering: .sequentiallyConsistent)
        while completed.load(ordering: .sequentiallyConsistent) < chunks { pthread_cond_wait(done, mutex) }
        callerSleeping.store(false, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
      }
      job = nil
    }
  }

  /// Claims and runs chunks of the current job until none is left; returns the generation that had none.
  private func runChunks(thread: Int) -> UInt64 {
    while true {
      let t = ticket.add(1, ordering: .acquiringAndReleasing).oldValue
      let chunk = Int(t & 0xFFFF), count = Int((t >> 16) & 0xFFFF)
      if chunk >= count { return t >> 32 }
      // The job stays set until its last chunk finishes, and this one has not.
      job?(chunk, thread)
      // The thread finishing the last chunk wakes the caller if it blocked (the caller registers before
      // its last look at `completed`).
      if completed.add(1, ordering: .sequentiallyConsistent).newValue == count, thread != 0,
        callerSleeping.load(ordering: .sequentiallyConsistent)
      {
        pthread_mutex_lock(mutex)
        pthread_cond_signal(done)
        pthread_mutex_unlock(mutex)
      }
    }
  }

  private func workerLoop(index: Int) {
    var seen: UInt64 = 0  // generation starts at 0: a job posted before this thread started still runs
    while true {
      @inline(__always) func newJob() -> Bool { ticket.load(ordering: .acquiring) >> 32 != seen }
      if !spin(until: { newJob() || stopping.load(ordering: .relaxed) }) {
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while ticket.load(ordering: .sequentiallyConsistent) >> 32 == seen && !stopping.load(ordering: .sequentiallyConsistent) {
          pthread_cond_wait(wake, mutex)
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
      }
      if stopping.load(ordering: .sequentiallyConsistent) { break }
      seen = runChunks(thread: index)
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

/// A scheduling constant, overridable for tuning runs by the environment variable `name` (a positive
/// integer; anything else keeps `default`). Read once per process. Only how work is split between threads
/// depends on these, never a result (every chunk's values are computed by the same kernel either way).
func runtimeTuning(_ name: String, default value: Int) -> Int {
  guard let raw = getenv(name), let parsed = Int(String(cString: raw)), parsed > 0 else { return value }
  return parsed
}
