# The allocator micro-benchmark (included by bench/CMakeLists.txt).
agora_binary(agora-allocator-bench
  SOURCES allocator_bench.cc
  DEPS agora_allocator benchmark::benchmark)
