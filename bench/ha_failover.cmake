# The driver of bench/ha_failover.sh (included by bench/CMakeLists.txt): the
# test ZooKeeper ensemble, the integration harness and the failover
# framework, so it exists only where the integration tests do.
if(TARGET agora_ha_framework)
  agora_binary(agora_ha_failover_driver
    SOURCES ha_failover_driver.cc
    DEPS agora_zk_ensemble agora_integration_harness agora_ha_framework
         agora_scheduler agora_common nlohmann_json::nlohmann_json gflags)
  target_include_directories(agora_ha_failover_driver PRIVATE
    ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  add_dependencies(agora_ha_failover_driver agora-master agora-agent
                   agora-executor)
endif()
