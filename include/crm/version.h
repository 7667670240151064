/* version.h - the release of crmd and crmctl. */
#ifndef CRM_VERSION_H
#define CRM_VERSION_H

#define CRM_VERSION "0.1.0"

#endif
