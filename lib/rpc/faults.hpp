// supervisord's XML-RPC fault codes: part of the wire contract.
#pragma once

#include <string>

#include "xmlrpc/value.hpp"

namespace sup::rpc {

enum class Fault {
  UnknownMethod = 1,
  IncorrectParameters = 2,
  BadArguments = 3,
  SignatureUnsupported = 4,
  ShutdownState = 6,
  BadName = 10,
  BadSignal = 11,
  NoFile = 20,
  NotExecutable = 21,
  Failed = 30,
  AbnormalTermination = 40,
  SpawnError = 50,
  AlreadyStarted = 60,
  NotRunning = 70,
  Success = 80,
  AlreadyAdded = 90,
  StillRunning = 91,
  CantReread = 92,
};

const char* fault_name(Fault f);

// faultString as supervisord writes it: "NAME" without detail, "NAME: extra"
// with one, even an empty one (getProcessInfo("") -> "BAD_NAME: ").
xmlrpc::Fault make_fault(Fault f);
xmlrpc::Fault make_fault(Fault f, const std::string& extra);

}  // namespace sup::rpc
