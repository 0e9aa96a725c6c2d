# The registry throughput / loop latency benchmark (included by
# bench/CMakeLists.txt).
agora_binary(agora-registry-bench
  SOURCES registry_bench.cc
  DEPS agora_master glog::glog)
