# Container lifecycle micro-benchmarks (included by bench/CMakeLists.txt).
agora_binary(agora-cgroups-bench
  SOURCES cgroups_bench.cc
  DEPS agora_isolation benchmark::benchmark)
