cmake_minimum_required(VERSION 3.25)
# Fixture setup: stop a sandbox a killed earlier run may have left, then start a fresh one.
execute_process(COMMAND ${SHARDSHIFT} sandbox down --dir ${DIR} OUTPUT_QUIET ERROR_QUIET)
execute_process(COMMAND ${SHARDSHIFT} sandbox up --replicas --dir ${DIR} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "shardshift sandbox up failed (${rc})")
endif()
