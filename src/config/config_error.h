// ConfigError: the one exception a config file's reader throws, with one line of the form
//   FILE:LINE: dotted.field.path: what is wrong (got "value")
// (yaml_fields.h builds the message). The CLI prints it and exits with status 2.
#pragma once

#include <stdexcept>

namespace clearhouse::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace clearhouse::config
