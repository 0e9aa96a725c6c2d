// Facts about Mesos task states shared by every module.
#ifndef AGORA_COMMON_TASK_STATES_H_
#define AGORA_COMMON_TASK_STATES_H_

#include "mesos/v1/mesos.pb.h"

namespace agora {

// FINISHED, FAILED, KILLED, ERROR, LOST, DROPPED, GONE, GONE_BY_OPERATOR:
// no further update follows for the task (Mesos's protobuf::isTerminalState).
bool IsTerminalState(mesos::v1::TaskState state);

}  // namespace agora

#endif  // AGORA_COMMON_TASK_STATES_H_
