#ifndef KVMRUN_MACHINE_H
#define KVMRUN_MACHINE_H
#endif
