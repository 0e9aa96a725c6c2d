# The /state benchmark (included by bench/CMakeLists.txt).
agora_binary(agora-state-bench
  SOURCES state_bench.cc
  DEPS agora_master benchmark::benchmark)
