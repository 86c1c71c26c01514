/* The CUDA execution model on the CPU, for running the annealer's CUDA sources unchanged.
 *
 * Included before a CUDA source (see cuda_emulator.py, which compiles the source string that
 * CuPy compiles, with g++ -std=c++20).  Why real threads: a kernel that forgets a barrier, or
 * races on shared memory, must be able to produce a wrong result here, as it would on a GPU; a
 * loop over the threads of a block would run them in lock step and hide exactly those bugs.
 *
 *   - every thread of a block is a std::thread; blocks run in waves (a few at a time);
 *   - threadIdx, blockIdx, blockDim and gridDim are thread-local;
 *   - __syncthreads() is a barrier of the block's threads (a thread that returns from the
 *     kernel leaves the barrier, as an exited GPU thread does); a barrier that not every thread
 *     reaches is reported as a deadlock after a timeout instead of hanging;
 *   - atomicAdd is std::atomic_ref<T>::fetch_add;
 *   - `extern __shared__ T name[];` is a per-block buffer of the launch's shared-memory size,
 *     filled with garbage (0xCD) as real shared memory is never zeroed;
 *   - with jitter on, threads yield at random at atomics and after barriers, to mix the order
 *     in which a block's threads run.
 *
 * Floating point: compile with -ffp-contract=off (nvcc --fmad=false): no fused multiply-add.
 */
#pragma once

#include <math.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
/* static shared arrays are not emulated: fail at compile time rather than share nothing */
#define __shared__ __cuda_emu_only_extern_shared_arrays_are_emulated

struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

inline thread_local uint3 threadIdx{0, 0, 0};
inline thread_local uint3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{};
inline thread_local dim3 gridDim{};

namespace cuda_emu {

struct Deadlock : std::exception {};

/* A reusable barrier of the threads of one block.  std::barrier has no timeout; this one
   reports a barrier that some thread never reaches (divergent __syncthreads) as an error. */
class Barrier {
  public:
    explicit Barrier(int n) : expected_(n), count_(n) {}

    void arrive_and_wait(double timeout_s) {
        std::unique_lock<std::mutex> lock(m_);
        if (broken_) throw Deadlock();
        const std::uint64_t gen = generation_;
        if (--count_ == 0) {
            next_phase();
            return;
        }
        const auto deadline = std::chrono::duration<double>(timeout_s);
        if (!cv_.wait_for(lock, deadline, [&] { return generation_ != gen || broken_; })) {
            broken_ = true;
            cv_.notify_all();
        }
        if (broken_) throw Deadlock();
    }

    /* A thread leaves the block: it counts as arrived now and is not waited for again. */
    void arrive_and_drop() {
        std::lock_guard<std::mutex> lock(m_);
        --expected_;
        if (--count_ == 0) next_phase();
    }

  private:
    void next_phase() {
        ++generation_;
        count_ = expected_;
        cv_.notify_all();
    }

    std::mutex m_;
    std::condition_variable cv_;
    int expected_;
    int count_;
    std::uint64_t generation_ = 0;
    bool broken_ = false;
};

struct alignas(16) Chunk {
    unsigned char bytes[16];
};

struct Block {
    Block(int threads, std::size_t shared_bytes)
        : barrier(threads), shared((shared_bytes + 15) / 16 + 1) {
        std::memset(shared.data(), 0xCD, shared.size() * 16);
    }
    Barrier barrier;
    std::vector<Chunk> shared;  /* 16-byte aligned, as CUDA aligns shared memory */
};

struct Settings {
    std::atomic<int> jitter{1};
    std::atomic<int> max_threads{256};  /* threads alive at once: whole blocks, at least one */
    double barrier_timeout_s = 60.0;
    std::size_t max_shared_bytes = 48 * 1024;  /* CUDA's default limit of dynamic shared memory */
};
inline Settings settings;

inline thread_local Block* current_block = nullptr;
inline thread_local std::uint64_t jitter_state = 0;

/* Yield now and then (xorshift), so that a block's threads do not run in creation order. */
inline void jitter() {
    if (!settings.jitter.load(std::memory_order_relaxed)) return;
    std::uint64_t x = jitter_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    jitter_state = x;
    if ((x & 7) == 0) std::this_thread::yield();
}

template <class T>
T* dynamic_shared() {
    return reinterpret_cast<T*>(current_block->shared.data());
}

struct LaunchError {
    std::mutex m;
    std::string text;
    void set(const std::string& what) {
        std::lock_guard<std::mutex> lock(m);
        if (text.empty()) text = what;
    }
};

inline std::string& last_error() {
    static std::string text;
    return text;
}

/* Run every block of the grid; in each, every thread runs body().  Returns 0, or 1 with
   last_error() set (deadlock, an exception in the kernel, a failed thread start). */
inline int launch(dim3 grid, dim3 block, std::size_t shared_bytes,
                  const std::function<void()>& body) {
    last_error().clear();
    const long long nthreads = (long long)block.x * block.y * block.z;
    const long long nblocks = (long long)grid.x * grid.y * grid.z;
    if (nthreads <= 0 || nthreads > 1024 || nblocks <= 0) {
        last_error() = "invalid launch configuration (block of " + std::to_string(nthreads) +
                       " threads, grid of " + std::to_string(nblocks) + " blocks)";
        return 1;
    }
    if (shared_bytes > settings.max_shared_bytes) {
        last_error() = "too much dynamic shared memory: " + std::to_string(shared_bytes) +
                       " bytes, over the " + std::to_string(settings.max_shared_bytes) +
                       " a kernel gets without opting in to more";
        return 1;
    }
    const long long per_wave = std::max(1LL, settings.max_threads.load() / nthreads);
    LaunchError error;
    for (long long first = 0; first < nblocks; first += per_wave) {
        const long long last = std::min(nblocks, first + per_wave);
        std::vector<std::unique_ptr<Block>> blocks;
        std::vector<std::thread> threads;
        try {
            for (long long b = first; b < last; ++b) {
                blocks.push_back(std::make_unique<Block>((int)nthreads, shared_bytes));
                Block* ctx = blocks.back().get();
                const uint3 bid{(unsigned)(b % grid.x), (unsigned)((b / grid.x) % grid.y),
                                (unsigned)(b / ((long long)grid.x * grid.y))};
                for (long long t = 0; t < nthreads; ++t) {
                    const uint3 tid{(unsigned)(t % block.x), (unsigned)((t / block.x) % block.y),
                                    (unsigned)(t / ((long long)block.x * block.y))};
                    threads.emplace_back([=, &body, &error] {
                        threadIdx = tid;
                        blockIdx = bid;
                        blockDim = block;
                        gridDim = grid;
                        current_block = ctx;
                        jitter_state = 0x9E3779B97F4A7C15ULL * (std::uint64_t)(b * 1024 + t + 1);
                        try {
                            body();
                        } catch (const Deadlock&) {
                            error.set("deadlock: a __syncthreads() of block " +
                                      std::to_string(b) + " was not reached by every thread");
                        } catch (const std::exception& e) {
                            error.set(std::string("exception in the kernel: ") + e.what());
                        }
                        ctx->barrier.arrive_and_drop();
                    });
                }
            }
        } catch (const std::exception& e) {
            error.set(std::string("could not start the block's threads: ") + e.what());
        }
        for (auto& th : threads) th.join();
        if (!error.text.empty()) break;
    }
    last_error() = error.text;
    return error.text.empty() ? 0 : 1;
}

template <class... A, std::size_t... I>
void call_with(void (*kernel)(A...), void** args, std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_cv_t<A>*>(args[I])...);
}

/* cudaLaunchKernel's convention: args[i] points at the value of parameter i. */
template <class... A>
int launch_kernel(void (*kernel)(A...), dim3 grid, dim3 block, std::size_t shared_bytes,
                  void** args) {
    return launch(grid, block, shared_bytes,
                  [=] { call_with(kernel, args, std::index_sequence_for<A...>{}); });
}

template <class T>
constexpr char kind_of() {
    if constexpr (std::is_same_v<T, bool>) return 'b';
    else if constexpr (std::is_floating_point_v<T>) return 'f';
    else if constexpr (std::is_integral_v<T>) return std::is_signed_v<T> ? 'i' : 'u';
    else return '?';
}

template <class T>
struct Param {
    using U = std::remove_cv_t<T>;
    using E = std::remove_cv_t<std::remove_pointer_t<U>>;
    static constexpr bool pointer = std::is_pointer_v<U>;
    static constexpr long long size = sizeof(U);
    static constexpr char kind = pointer ? 'p' : kind_of<U>();
    static constexpr long long elem_size = [] {
        if constexpr (pointer && !std::is_void_v<E>) return (long long)sizeof(E);
        else return 0LL;
    }();
    static constexpr char elem_kind = pointer ? kind_of<E>() : '?';
};

/* The kernel's parameters (byte size, kind: 'p' pointer or numpy's i/u/f/b; for a pointer the
   element's size and kind), for checking the caller's arguments as nvcc's launch would not. */
template <class... A>
int describe(void (*)(A...), long long* size, char* kind, long long* elem_size, char* elem_kind,
             int capacity) {
    const long long s[] = {0, Param<A>::size...};
    const char k[] = {0, Param<A>::kind...};
    const long long es[] = {0, Param<A>::elem_size...};
    const char ek[] = {0, Param<A>::elem_kind...};
    const int n = (int)sizeof...(A);
    for (int i = 0; i < n && i < capacity; ++i) {
        size[i] = s[i + 1];
        kind[i] = k[i + 1];
        elem_size[i] = es[i + 1];
        elem_kind[i] = ek[i + 1];
    }
    return n;
}

}  // namespace cuda_emu

inline void __syncthreads() {
    cuda_emu::current_block->barrier.arrive_and_wait(cuda_emu::settings.barrier_timeout_s);
    cuda_emu::jitter();
}

inline void __nanosleep(unsigned ns) { std::this_thread::sleep_for(std::chrono::nanoseconds(ns)); }

inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

template <class T>
inline T cuda_emu_atomic_add(T* address, T value) {
    cuda_emu::jitter();
    return std::atomic_ref<T>(*address).fetch_add(value);
}
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) {
    return cuda_emu_atomic_add(a, v);
}
inline unsigned int atomicAdd(unsigned int* a, unsigned int v) { return cuda_emu_atomic_add(a, v); }
inline int atomicAdd(int* a, int v) { return cuda_emu_atomic_add(a, v); }
inline float atomicAdd(float* a, float v) { return cuda_emu_atomic_add(a, v); }
inline double atomicAdd(double* a, double v) { return cuda_emu_atomic_add(a, v); }

/* Included in exactly one translation unit (the kernel's), so these are defined here. */
extern "C" {
const char* cuda_emu_last_error() { return cuda_emu::last_error().c_str(); }
void cuda_emu_configure(int jitter, int max_threads, double barrier_timeout_s) {
    cuda_emu::settings.jitter = jitter;
    cuda_emu::settings.max_threads = max_threads;
    cuda_emu::settings.barrier_timeout_s = barrier_timeout_s;
}
}
