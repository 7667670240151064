/*
 * openapi_components.c - the hand-written parts of the OpenAPI document's components: the
 * schemas that hand-written operations name, the shared error responses, parameters and
 * headers, the security schemes, and the descriptions of the tags. Only the schemas the
 * document refers to are included, so entries for routes a build does not have leave no
 * trace.
 */
#define _POSIX_C_SOURCE 200809L
#include "http/openapi_internal.h"

#include <stdlib.h>
#include <string.h>

#include "crm/auth.h"
#include "crm/resource.h"
#include "crm/users.h"
#include "crm/banned.h"

/* A permission scope (GET auth/me). */
#define SCOPE_SCHEMA "{`type`:`string`,`enum`:[`all`,`team`,`own`,`none`]}"

/* Schemas that entries refer to by name. */
struct openapi_component {
	const char *name;
	const char *schema;
};

#define USER_PROPERTIES                                                                       \
	"`email`:{`type`:`string`,`format`:`email`,`maxLength`:" OPENAPI_STRINGIFY(USERS_EMAIL_MAX) "},"  \
	"`name`:{`type`:`string`,`minLength`:1,`maxLength`:" OPENAPI_STRINGIFY(USERS_NAME_MAX) "},"      \
	"`role`:{`type`:`string`,`maxLength`:" OPENAPI_STRINGIFY(USERS_ROLE_MAX) ","                      \
	"`description`:`admin, manager, rep, viewer, or a role made with crmctl role create`},"  \
	"`team`:{`type`:[`string`,`null`],`maxLength`:" OPENAPI_STRINGIFY(USERS_TEAM_MAX) "},"           \
	"`disabled`:{`type`:`boolean`,`description`:`a disabled user cannot log in or use keys`}"

static const struct openapi_component component_schemas[] = {
	{ "Meta",
	  "{`type`:`object`,`required`:[`resources`,`permissions`,`roles`],`properties`:{"
	  "`resources`:{`type`:`array`,`items`:{`type`:`object`,"
	  "`required`:[`name`,`singular`,`path`,`permission`,`owner_field`,`fields`,`filters`,"
	  "`range_filters`,`sorts`,`search`,`external_id`,`events`],`properties`:{"
	  "`name`:{`type`:`string`},`singular`:{`type`:`string`},`path`:{`type`:`string`},"
	  "`permission`:{`type`:`string`},`owner_field`:{`type`:[`string`,`null`]},"
	  "`fields`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/MetaField`}},"
	  "`filters`:{`type`:`array`,`items`:{`type`:`string`}},"
	  "`range_filters`:{`type`:`array`,`items`:{`type`:`object`,"
	  "`required`:[`param`,`field`,`op`],`properties`:{`param`:{`type`:`string`},"
	  "`field`:{`type`:`string`},`op`:{`type`:`string`,`enum`:[`>=`,`<`,`<=`,`>`]}}}},"
	  "`sorts`:{`type`:`array`,`items`:{`type`:`string`}},"
	  "`search`:{`type`:[`object`,`null`],`properties`:{`param`:{`type`:`string`},"
	  "`columns`:{`type`:`array`,`items`:{`type`:`string`}}}},"
	  "`external_id`:{`type`:`boolean`},"
	  "`events`:{`type`:`array`,`items`:{`type`:`string`}},"
	  "`description`:{`type`:[`string`,`null`]}}}},"
	  "`permissions`:{`type`:`object`,`required`:[`resources`,`actions`,`scopes`],"
	  "`properties`:{`resources`:{`type`:`array`,`items`:{`type`:`object`,"
	  "`required`:[`name`,`resource`],`properties`:{`name`:{`type`:`string`},"
	  "`resource`:{`type`:`boolean`},`description`:{`type`:`string`}}}},"
	  "`actions`:{`type`:`array`,`items`:{`type`:`string`}},"
	  "`scopes`:{`type`:`array`,`items`:{`type`:`string`}}}},"
	  "`roles`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`name`,`builtin`],"
	  "`properties`:{`name`:{`type`:`string`},`description`:{`type`:`string`},"
	  "`builtin`:{`type`:`boolean`}}}}}}" },
	{ "MetaField",
	  "{`type`:`object`,`required`:[`name`,`type`,`flags`],`properties`:{"
	  "`name`:{`type`:`string`},`type`:{`type`:`string`,`enum`:[`string`,`text`,`email`,"
	  "`integer`,`boolean`,`timestamp`,`date`,`enum`,`currency`,`reference`,`tags`,`object`]},"
	  "`flags`:{`type`:`array`,`items`:{`type`:`string`,`enum`:[`required`,`read_only`,"
	  "`filter`,`sort`,`case_insensitive`,`lowercase`,`default_caller`,`unique`,"
	  "`default_now`,`write_only`]}},`max_length`:{`type`:`integer`},"
	  "`minimum`:{`type`:`integer`},`maximum`:{`type`:`integer`},"
	  "`values`:{`type`:`array`,`items`:{`type`:`string`}},`references`:{`type`:`string`},"
	  "`members`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/MetaField`}}}}" },
	{ "Problem",
	  "{`type`:`object`,`description`:`RFC 9457 problem details.`,"
	  "`required`:[`type`,`title`,`status`],`properties`:{"
	  "`type`:{`type`:`string`,`description`:`about:blank`},"
	  "`title`:{`type`:`string`,`description`:`the status's reason phrase`},"
	  "`status`:{`type`:`integer`},`detail`:{`type`:`string`},"
	  "`errors`:{`type`:`array`,`description`:`for 409 and 422: what is wrong with which field`,"
	  "`items`:{`type`:`object`,`required`:[`field`,`message`],`properties`:{"
	  "`field`:{`type`:`string`,`examples`:[`email`,`consent.email`]},"
	  "`message`:{`type`:`string`}}}}}}" },
	{ "User",
	  "{`type`:`object`,`required`:[`id`,`email`,`name`,`role`,`team`,`disabled`,"
	  "`has_password`,`created_at`,`updated_at`,`version`],`properties`:{"
	  "`id`:{`type`:`integer`,`readOnly`:true}," USER_PROPERTIES ","
	  "`has_password`:{`type`:`boolean`,`readOnly`:true},"
	  "`created_at`:{`type`:`string`,`format`:`date-time`,`readOnly`:true},"
	  "`updated_at`:{`type`:`string`,`format`:`date-time`,`readOnly`:true},"
	  "`version`:{`type`:`integer`,`minimum`:1,`readOnly`:true}}}" },
	{ "UserInput",
	  "{`type`:`object`,`additionalProperties`:false,`required`:[`email`,`name`,`role`],"
	  "`properties`:{" USER_PROPERTIES ","
	  "`password`:{`type`:[`string`,`null`],`writeOnly`:true,`minLength`:" OPENAPI_STRINGIFY(
		  USERS_PASSWORD_MIN) ",`maxLength`:" OPENAPI_STRINGIFY(USERS_PASSWORD_MAX) "}}}" },
	{ "UserPatch",
	  "{`type`:`object`,`additionalProperties`:false,`description`:`A JSON merge patch "
	  "(RFC 7396): members left out stay as they are; a null password removes it.`,"
	  "`properties`:{" USER_PROPERTIES ","
	  "`password`:{`type`:[`string`,`null`],`writeOnly`:true,`minLength`:" OPENAPI_STRINGIFY(
		  USERS_PASSWORD_MIN) ",`maxLength`:" OPENAPI_STRINGIFY(USERS_PASSWORD_MAX) "}}}" },
	{ "UserList",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/User`}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "UserDirectory",
	  "{`type`:`object`,`required`:[`data`],`properties`:{`data`:{`type`:`array`,`items`:{"
	  "`type`:`object`,`required`:[`id`,`name`,`team`,`disabled`],`properties`:{"
	  "`id`:{`type`:`integer`},`name`:{`type`:`string`},`team`:{`type`:[`string`,`null`]},"
	  "`disabled`:{`type`:`boolean`}}}}}}" },
	{ "ApiKey",
	  "{`type`:`object`,`required`:[`id`,`user_id`,`user_name`,`user_email`,`name`,`prefix`,"
	  "`read_only`,`created_at`,`expires_at`,`revoked_at`,`last_used_at`,`status`,"
	  "`rate_per_minute`,`rate_burst`],"
	  "`properties`:{`id`:{`type`:`integer`},`user_id`:{`type`:`integer`},"
	  "`user_name`:{`type`:[`string`,`null`]},`user_email`:{`type`:[`string`,`null`]},"
	  "`name`:{`type`:`string`},"
	  "`prefix`:{`type`:`string`,`description`:`the first characters of the key`},"
	  "`read_only`:{`type`:`boolean`},`created_at`:{`type`:`string`,`format`:`date-time`},"
	  "`expires_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`revoked_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`last_used_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`status`:{`type`:`string`,`enum`:[`active`,`expired`,`revoked`]},"
	  "`rate_per_minute`:{`type`:[`integer`,`null`],`description`:`the key's own rate limit "
	  "(requests a minute); null: its user's role's`},"
	  "`rate_burst`:{`type`:[`integer`,`null`],`description`:`requests the key may send at "
	  "once; null: its user's role's`}}}" },
	{ "ApiKeyCreated",
	  "{`allOf`:[{`$ref`:`#/components/schemas/ApiKey`},{`type`:`object`,`required`:[`key`],"
	  "`properties`:{`key`:{`type`:`string`,`description`:`the key itself: shown this once`}}}]}" },
	{ "ApiKeyInput",
	  "{`type`:`object`,`additionalProperties`:false,`required`:[`name`],`properties`:{"
	  "`name`:{`type`:`string`,`minLength`:1,`maxLength`:100},"
	  "`read_only`:{`type`:[`boolean`,`null`],`default`:false},"
	  "`expires_days`:{`type`:[`integer`,`null`],`minimum`:1,`maximum`:3650,"
	  "`description`:`null or absent: the key never expires`},"
	  "`user_id`:{`type`:[`integer`,`null`],`description`:`whose key (default: the caller; "
	  "another user: administrators only)`},"
	  "`rate_per_minute`:{`type`:[`integer`,`null`],`minimum`:1,`maximum`:60000000,"
	  "`description`:`the key's own rate limit (administrators only); null or absent: its "
	  "user's role's`},"
	  "`rate_burst`:{`type`:[`integer`,`null`],`minimum`:1,`maximum`:60000000,"
	  "`description`:`requests the key may send at once (administrators only)`}}}" },
	{ "ApiKeyList",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/ApiKey`}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "AuditEntry",
	  "{`type`:`object`,`required`:[`id`,`at`,`user_id`,`actor`,`entity`,`entity_id`,`action`,"
	  "`before`,`after`],`properties`:{`id`:{`type`:`integer`},"
	  "`at`:{`type`:`string`,`format`:`date-time`},`user_id`:{`type`:[`integer`,`null`]},"
	  "`actor`:{`type`:`string`,`examples`:[`api`,`crmctl`]},`entity`:{`type`:`string`},"
	  "`entity_id`:{`type`:[`integer`,`null`]},`action`:{`type`:`string`},"
	  "`before`:{`description`:`the record before the change (null on create)`},"
	  "`after`:{`description`:`the record after the change (null on delete)`}}}" },
	{ "AuditPage",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/AuditEntry`}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "GdprExport",
	  "{`type`:`object`,`required`:[`format`,`exported_at`,`contact`,`company`,`interactions`,"
	  "`tasks`,`opportunities`,`purchases`,`segments`,`audit`],`properties`:{"
	  "`format`:{`const`:`crm-gdpr-export/1`},`exported_at`:{`type`:`string`,`format`:`date-time`},"
	  "`contact`:{`type`:`object`,`description`:`the contact, with erased_at`},"
	  "`company`:{`type`:[`object`,`null`]},"
	  "`interactions`:{`type`:`array`,`items`:{`type`:`object`}},"
	  "`tasks`:{`type`:`array`,`items`:{`type`:`object`}},"
	  "`opportunities`:{`type`:`array`,`items`:{`type`:`object`,`description`:"
	  "`an opportunity with its stage_changes`}},"
	  "`purchases`:{`type`:`array`,`items`:{`type`:`object`}},"
	  "`segments`:{`type`:`array`,`items`:{`type`:`object`}},"
	  "`audit`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/AuditEntry`}}}}" },
	{ "ImportReport",
	  "{`type`:`object`,`required`:[`rows`,`created`,`updated`,`unchanged`,"
	  "`companies_created`,`dry_run`,`written`,`errors`],`properties`:{"
	  "`rows`:{`type`:`integer`},`created`:{`type`:`integer`},`updated`:{`type`:`integer`},"
	  "`unchanged`:{`type`:`integer`},`companies_created`:{`type`:`integer`},"
	  "`dry_run`:{`type`:`boolean`},`written`:{`type`:`boolean`},"
	  "`errors`:{`type`:`array`,`items`:{`type`:`object`,`properties`:{"
	  "`line`:{`type`:`integer`},`field`:{`type`:`string`},`message`:{`type`:`string`}}}},"
	  "`errors_truncated`:{`type`:`boolean`}}}" },
	{ "TimelinePage",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`type`,`id`,`at`,`record`],"
	  "`properties`:{`type`:{`type`:`string`,`enum`:[`interaction`,`opportunity`,"
	  "`stage_change`,`purchase`,`task`]},`id`:{`type`:`integer`},"
	  "`at`:{`type`:`string`,`format`:`date-time`},"
	  "`record`:{`description`:`the record of that type`,`anyOf`:["
	  "{`$ref`:`#/components/schemas/Interaction`},{`$ref`:`#/components/schemas/Opportunity`},"
	  "{`$ref`:`#/components/schemas/StageChange`},{`$ref`:`#/components/schemas/Purchase`},"
	  "{`$ref`:`#/components/schemas/Task`}]}}}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "StageChange",
	  "{`type`:`object`,`required`:[`id`,`opportunity_id`,`from_stage`,`to_stage`,"
	  "`changed_at`,`user_id`],`properties`:{`id`:{`type`:`integer`},"
	  "`opportunity_id`:{`type`:`integer`},`from_stage`:{`type`:[`string`,`null`]},"
	  "`to_stage`:{`type`:`string`},`changed_at`:{`type`:`string`,`format`:`date-time`},"
	  "`user_id`:{`type`:[`integer`,`null`]}}}" },
	{ "StageChangeList",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/StageChange`}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "PipelineFigures",
	  "{`type`:`object`,`required`:[`currency`,`count`,`amount_cents`,"
	  "`weighted_amount_cents`],`properties`:{`currency`:{`type`:`string`},"
	  "`count`:{`type`:`integer`},`amount_cents`:{`type`:`integer`},"
	  "`weighted_amount_cents`:{`type`:`integer`}}}" },
	{ "Pipeline",
	  "{`type`:`object`,`required`:[`stages`,`by_currency`],`properties`:{"
	  "`currency`:{`type`:[`string`,`null`]},"
	  "`stages`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`stage`,"
	  "`default_probability`,`count`,`amount_cents`,`weighted_amount_cents`,`by_currency`],"
	  "`properties`:{`stage`:{`type`:`string`,`enum`:[`lead`,`qualified`,`proposal`,"
	  "`negotiation`,`won`,`lost`]},`default_probability`:{`type`:`integer`},"
	  "`count`:{`type`:`integer`},`amount_cents`:{`type`:[`integer`,`null`]},"
	  "`weighted_amount_cents`:{`type`:[`integer`,`null`]},"
	  "`by_currency`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/PipelineFigures`}}}}},"
	  "`by_currency`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/PipelineFigures`}}}}" },
	{ "SegmentPreviewRequest",
	  "{`type`:`object`,`required`:[`rule`],`additionalProperties`:false,`properties`:{"
	  "`rule`:{`type`:`object`,`description`:`a rule tree: {all:[..]}, {any:[..]}, "
	  "{not:{..}}, leaves {field, op, value}`}}}" },
	{ "SegmentPreview",
	  "{`type`:`object`,`required`:[`count`,`sample`],`properties`:{"
	  "`count`:{`type`:`integer`},`sample`:{`type`:`array`,"
	  "`items`:{`$ref`:`#/components/schemas/Contact`}}}}" },
	{ "SegmentMemberIds",
	  "{`type`:`object`,`required`:[`contact_ids`],`additionalProperties`:false,"
	  "`properties`:{`contact_ids`:{`type`:`array`,`minItems`:1,`maxItems`:1000,"
	  "`items`:{`type`:`integer`,`minimum`:1}}}}" },
	{ "AnalyticsModel",
	  "{`type`:`object`,`description`:`The fitted BG/NBD and Gamma-Gamma models: their "
	  "parameters, method, whether they converged and when they were fitted.`}" },
	{ "Rfm",
	  "{`type`:[`object`,`null`],`properties`:{`r`:{`type`:`integer`,`minimum`:1,`maximum`:5},"
	  "`f`:{`type`:`integer`,`minimum`:1,`maximum`:5},`m`:{`type`:`integer`,`minimum`:1,"
	  "`maximum`:5},`score`:{`type`:`string`,`examples`:[`545`]}}}" },
	{ "ContactAnalytics",
	  "{`type`:`object`,`required`:[`contact_id`,`historical_ltv_cents`,"
	  "`predicted_ltv_cents`,`purchases_count`],`properties`:{"
	  "`contact_id`:{`type`:`integer`},`as_of`:{`type`:`string`},"
	  "`horizon_days`:{`type`:`integer`},`historical_ltv_cents`:{`type`:`integer`},"
	  "`predicted_ltv_cents`:{`type`:`integer`},`purchases_count`:{`type`:`integer`},"
	  "`first_purchase_at`:{`type`:[`string`,`null`]},"
	  "`last_purchase_at`:{`type`:[`string`,`null`]},"
	  "`recency_days`:{`type`:[`integer`,`null`]},"
	  "`rfm`:{`$ref`:`#/components/schemas/Rfm`},"
	  "`p_alive`:{`type`:[`number`,`null`],`minimum`:0,`maximum`:1},"
	  "`churn_risk`:{`type`:[`number`,`null`],`minimum`:0,`maximum`:1},"
	  "`tier`:{`type`:[`string`,`null`]},`value_class`:{`type`:[`string`,`null`]},"
	  "`loyalty`:{`type`:`string`,`enum`:[`active`,`passive`,`none`]},"
	  "`relationship_stage`:{`type`:`string`,`enum`:[`contact`,`involvement`,`intimacy`,"
	  "`deterioration`,`repair`,`dissolution`]},"
	  "`model`:{`type`:[`object`,`null`]}}}" },
	{ "LtvRanking",
	  "{`type`:`object`,`required`:[`data`],`properties`:{`as_of`:{`type`:`string`},"
	  "`horizon_days`:{`type`:`integer`},`limit`:{`type`:`integer`},"
	  "`model`:{`type`:[`object`,`null`]},"
	  "`data`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`contact_id`,"
	  "`predicted_ltv_cents`],`properties`:{`contact_id`:{`type`:`integer`},"
	  "`predicted_ltv_cents`:{`type`:`integer`},`historical_ltv_cents`:{`type`:`integer`},"
	  "`purchases_count`:{`type`:`integer`},`p_alive`:{`type`:[`number`,`null`]},"
	  "`churn_risk`:{`type`:[`number`,`null`]},`tier`:{`type`:[`string`,`null`]}}}}}}" },
	{ "Tiers",
	  "{`type`:`object`,`required`:[`tiers`],`properties`:{`as_of`:{`type`:`string`},"
	  "`basis`:{`type`:`string`,`enum`:[`share`,`value`]},`metric`:{`type`:`string`},"
	  "`customers`:{`type`:`integer`},`revenue_cents`:{`type`:`integer`},"
	  "`tiers`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`name`,`members`],"
	  "`properties`:{`name`:{`type`:`string`},`threshold_cents`:{`type`:[`integer`,`null`]},"
	  "`members`:{`type`:`integer`},`revenue_cents`:{`type`:`integer`},"
	  "`revenue_share`:{`type`:`number`},`member_share`:{`type`:`number`}}}}}}" },
	{ "AnalyticsSummary",
	  "{`type`:`object`,`description`:`Counts of contacts, customers, tiers, loyalty, "
	  "relationship stages and value classes, and the revenue of this and the last period.`,"
	  "`properties`:{`as_of`:{`type`:`string`},`period`:{`type`:`string`},"
	  "`contacts`:{`type`:`integer`},`tiers`:{`type`:`object`,"
	  "`additionalProperties`:{`type`:`integer`}},`this_period`:{`type`:`object`},"
	  "`last_period`:{`type`:`object`},`model`:{`type`:`object`}}}" },
	{ "RevenueOverTime",
	  "{`type`:`object`,`required`:[`by`,`from`,`to`,`as_of`,`currency`,`buckets`],"
	  "`properties`:{`by`:{`type`:`string`,`enum`:[`day`,`week`,`month`,`quarter`,`year`]},"
	  "`from`:{`type`:`string`,`format`:`date`},`to`:{`type`:`string`,`format`:`date`},"
	  "`as_of`:{`type`:`string`,`format`:`date`},`currency`:{`type`:`string`},"
	  "`buckets`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`start`,`end`,"
	  "`revenue_cents`,`purchases`,`customers`],`properties`:{"
	  "`start`:{`type`:`string`,`format`:`date`},"
	  "`end`:{`type`:`string`,`format`:`date`,`description`:`the day after the bucket`},"
	  "`revenue_cents`:{`type`:`integer`},`purchases`:{`type`:`integer`},"
	  "`customers`:{`type`:`integer`,`description`:`distinct contacts who bought`}}}}}}" },
	{ "LoginRequest",
	  "{`type`:`object`,`required`:[`email`,`password`],`properties`:{"
	  "`email`:{`type`:`string`},`password`:{`type`:`string`,`writeOnly`:true}}}" },
	{ "LoginAnswer",
	  "{`type`:`object`,`required`:[`user`,`csrf_token`],`properties`:{"
	  "`user`:{`$ref`:`#/components/schemas/User`},`csrf_token`:{`type`:`string`},"
	  "`recovery_codes`:{`type`:`array`,`items`:{`type`:`string`},"
	  "`description`:`after an enrolment at login: the recovery codes, shown once`},"
	  "`recovery_codes_left`:{`type`:`integer`,"
	  "`description`:`after a login with a recovery code`}}}" },
	{ "LoginChallenge",
	  "{`type`:`object`,`required`:[`second_factor`,`challenge`,`expires_at`],"
	  "`description`:`The password was right; no session yet. totp: POST the challenge with "
	  "a code to /api/v1/auth/login/second-factor; enrol: the role requires two-factor "
	  "sign-in, enrol with /api/v1/auth/login/enrol and /api/v1/auth/login/confirm.`,"
	  "`properties`:{`second_factor`:{`type`:`string`,`enum`:[`totp`,`enrol`]},"
	  "`challenge`:{`type`:`string`},`expires_at`:{`type`:`string`,`format`:`date-time`}}}" },
	{ "SecondFactorRequest",
	  "{`type`:`object`,`required`:[`challenge`],`additionalProperties`:false,"
	  "`description`:`The challenge with exactly one of code and recovery_code.`,"
	  "`properties`:{`challenge`:{`type`:`string`},"
	  "`code`:{`type`:`string`,`examples`:[`123456`]},"
	  "`recovery_code`:{`type`:`string`,`examples`:[`abcd-efgh-ijkl-mnop`]}}}" },
	{ "ChallengeRequest",
	  "{`type`:`object`,`required`:[`challenge`],`additionalProperties`:false,"
	  "`properties`:{`challenge`:{`type`:`string`}}}" },
	{ "ChallengeCodeRequest",
	  "{`type`:`object`,`required`:[`challenge`,`code`],`additionalProperties`:false,"
	  "`properties`:{`challenge`:{`type`:`string`},"
	  "`code`:{`type`:`string`,`examples`:[`123456`]}}}" },
	{ "TwoFactorStatus",
	  "{`type`:`object`,`required`:[`enabled`,`pending`,`required`,`recovery_codes_left`],"
	  "`properties`:{`enabled`:{`type`:`boolean`},`pending`:{`type`:`boolean`},"
	  "`required`:{`type`:`boolean`},`recovery_codes_left`:{`type`:`integer`}}}" },
	{ "TwoFactorEnrolment",
	  "{`type`:`object`,`required`:[`secret`,`otpauth_uri`,`qr_svg`,`digits`,`period`,"
	  "`algorithm`],`properties`:{`secret`:{`type`:`string`,`description`:`base32`},"
	  "`otpauth_uri`:{`type`:`string`,`examples`:[`otpauth://totp/CRM:ada%40example.com?"
	  "secret=JBSWY3DPEHPK3PXP&issuer=CRM&algorithm=SHA1&digits=6&period=30`]},"
	  "`qr_svg`:{`type`:`string`,`description`:`the URI as a QR code, an SVG document`},"
	  "`digits`:{`type`:`integer`},`period`:{`type`:`integer`},`algorithm`:{`type`:`string`}}}" },
	{ "RecoveryCodes",
	  "{`type`:`object`,`required`:[`recovery_codes`],`properties`:{"
	  "`recovery_codes`:{`type`:`array`,`items`:{`type`:`string`}}}}" },
	{ "ContactDuplicates",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`type`:`object`,"
	  "`required`:[`reason`,`key`,`count`,`contacts`],`properties`:{"
	  "`reason`:{`type`:`string`,`enum`:[`email`,`phone`,`name`]},"
	  "`key`:{`type`:`string`,`description`:`what the contacts share`},"
	  "`count`:{`type`:`integer`,`minimum`:2},"
	  "`company_id`:{`type`:`integer`,`description`:`name groups`},"
	  "`contacts`:{`type`:`array`,`maxItems`:100,"
	  "`items`:{`$ref`:`#/components/schemas/Contact`}}}}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "WebhookDelivery",
	  "{`type`:`object`,`required`:[`id`,`webhook_id`,`event_id`,`event`,`status`,`attempts`,"
	  "`created_at`,`attempt_log`],`properties`:{"
	  "`id`:{`type`:`integer`,`description`:`X-CRM-Delivery`},`webhook_id`:{`type`:`integer`},"
	  "`event_id`:{`type`:`integer`,`description`:`the payload's id`},"
	  "`event`:{`type`:`string`},"
	  "`status`:{`type`:`string`,`enum`:[`pending`,`sending`,`delivered`,`failed`]},"
	  "`attempts`:{`type`:`integer`},`created_at`:" OPENAPI_TIMESTAMP_SCHEMA ","
	  "`next_attempt_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`last_attempt_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`last_status_code`:{`type`:[`integer`,`null`]},`last_error`:{`type`:[`string`,`null`]},"
	  "`last_duration_ms`:{`type`:[`integer`,`null`]},"
	  "`delivered_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`payload`:{`type`:`object`,`description`:`one delivery only: the body sent`},"
	  "`attempt_log`:{`type`:`array`,`items`:{`type`:`object`,"
	  "`required`:[`attempted_at`,`status_code`,`error`,`duration_ms`],`properties`:{"
	  "`attempted_at`:" OPENAPI_TIMESTAMP_SCHEMA ",`status_code`:{`type`:[`integer`,`null`]},"
	  "`error`:{`type`:[`string`,`null`]},`duration_ms`:{`type`:`integer`}}}}}}" },
	{ "WebhookDeliveryList",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/WebhookDelivery`}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "Me",
	  "{`type`:`object`,`required`:[`user`],`properties`:{"
	  "`user`:{`$ref`:`#/components/schemas/User`},"
	  "`permissions`:{`type`:`object`,`description`:`the caller's scope for each action on "
	  "each resource, e.g. contacts: {read: all, write: own, delete: none}; own: records "
	  "it owns, team: records owned in its team`,`additionalProperties`:{`type`:`object`,"
	  "`required`:[`read`,`write`,`delete`],`additionalProperties`:false,`properties`:{"
	  "`read`:" SCOPE_SCHEMA ",`write`:" SCOPE_SCHEMA ",`delete`:" SCOPE_SCHEMA "}}},"
	  "`csrf_token`:{`type`:`string`,`description`:`cookie sessions only`},"
	  "`read_only`:{`type`:`boolean`,`description`:`API keys only`}}}" },
	{ "Session",
	  "{`oneOf`:[{`$ref`:`#/components/schemas/Me`},{`type`:`object`,`required`:[`user`],"
	  "`additionalProperties`:false,`properties`:{`user`:{`type`:`null`,"
	  "`description`:`nobody is logged in`}}}]}" },
};

#define COMPONENT_COUNT (sizeof(component_schemas) / sizeof(component_schemas[0]))

/* Descriptions of the tags, in the order the document lists them first. */
static const struct {
	const char *name, *description;
} tag_descriptions[] = {
	{ "auth", "Browser sessions. Integrations use Authorization: Bearer <key> instead "
		  "(keys come from crmctl key create)." },
	{ "users", "The people who use the CRM (administrators only)." },
	{ "contacts", "People: the customers and prospects." },
	{ "companies", "Organisations contacts work for." },
	{ "interactions", "Touch points: calls, e-mails, meetings, notes, tickets, ..." },
	{ "tasks", "Things to do, with a due time and an assignee." },
	{ "opportunities", "Deals in the sales pipeline." },
	{ "purchases", "Revenue events." },
	{ "segments", "Groups of contacts: by a rule (dynamic) or by hand (static)." },
	{ "analytics", "Customer value: lifetime value, RFM, tiers, churn risk, loyalty." },
	{ "webhooks", "Outgoing webhooks: endpoints told about changes, with a delivery log "
		      "(administrators only)." },
	{ "audit", "The audit log: who changed what, when (administrators only)." },
	{ "meta", "About the API itself." },
};

/* The headers answers carry, as components.headers; responses refer to them by name. */
static const struct {
	const char *name, *description, *schema;
} response_headers[] = {
	{ "ETag", "The record's version in quotes (\"3\"), for If-Match and If-None-Match",
	  "{`type`:`string`,`pattern`:`^\\\"[0-9]+\\\"$`}" },
	{ "Location", "The URL of the new record", "{`type`:`string`}" },
	{ "Idempotent-Replayed",
	  "true when this is the stored answer to an earlier request with the same "
	  "Idempotency-Key (nothing was created this time); absent otherwise",
	  "{`const`:`true`}" },
	{ "Set-Cookie",
	  "The HttpOnly, SameSite=Strict session cookie (Secure over HTTPS); Max-Age=0 clears "
	  "it",
	  "{`type`:`string`}" },
	{ "Content-Disposition", "attachment, with the file name to save the answer under",
	  "{`type`:`string`,`examples`:[`attachment; filename=\\\"segment-3.csv\\\"`]}" },
	{ "Cache-Control", "How caches may keep the answer (no-store for secrets and personal data)",
	  "{`type`:`string`,`examples`:[`no-store`,`no-cache`]}" },
	{ "Retry-After", "Seconds to wait before trying again", "{`type`:`integer`,`minimum`:0}" },
	{ "WWW-Authenticate", "The scheme to authenticate with", "{`const`:`Bearer`}" },
	{ "RateLimit-Policy",
	  "The caller's rate limit (draft-ietf-httpapi-ratelimit-headers): a bucket of q "
	  "requests that refills completely in w seconds, per API key or per signed-in user; "
	  "its name says where it is set: \"key\", \"role\" or \"default\"",
	  "{`type`:`string`,`examples`:[`\\\"default\\\";q=1000;w=20`]}" },
	{ "RateLimit",
	  "What is left of the caller's rate limit: r requests now, full again in t seconds",
	  "{`type`:`string`,`examples`:[`\\\"default\\\";r=999;t=1`]}" },
};

#define RESPONSE_HEADER_COUNT (sizeof(response_headers) / sizeof(response_headers[0]))

static json_t *headers_section(void)
{
	json_t *headers = json_object();
	for (size_t i = 0; i < RESPONSE_HEADER_COUNT; i++)
		json_object_set_new(headers, response_headers[i].name,
				    json_pack("{s:s, s:o}", "description",
					      response_headers[i].description, "schema",
					      openapi_schema_from_text(response_headers[i].schema)));
	return headers;
}

json_t *openapi_response_headers(const char *names)
{
	json_t *headers = json_object();
	while (names && *names) {
		size_t len = strcspn(names, " ");
		if (len) {
			char *name = xstrndup(names, len);
			json_object_set_new(headers, name, openapi_ref("headers", name));
			free(name);
		}
		names += len + (names[len] == ' ');
	}
	return headers;
}

json_t *openapi_not_modified_response(void)
{
	return json_pack("{s:s, s:o}", "description",
			 "Not Modified: If-None-Match named the current version", "headers",
			 openapi_response_headers("ETag"));
}

/* The error answers of components.responses: name, description, headers (or NULL). All
 * but 401 may come after authentication, and then carry the caller's rate limit. */
#define RATE_HEADERS "RateLimit-Policy RateLimit"
static const struct {
	const char *name, *description, *headers;
} error_answers[] = {
	{ "BadRequest", "Malformed JSON, query parameter, path parameter or header (If-Match "
			"that is not an ETag), or a body with a NUL byte", RATE_HEADERS },
	{ "Unauthorized", "No valid credentials (or a revoked key, session or a disabled user)",
	  "WWW-Authenticate" },
	{ "Forbidden", "Not allowed: permissions, a read-only key, or a missing or wrong "
		       "X-CSRF-Token with a session cookie", RATE_HEADERS },
	{ "NotFound", "No such record, or one the caller may not read", RATE_HEADERS },
	{ "Conflict", "A unique field (external_id, email) is taken, or other records still "
		      "refer to this one", RATE_HEADERS },
	{ "PreconditionFailed", "If-Match does not name the record's version (ETag: the version "
				"it has, where the record is a generic resource)", "ETag " RATE_HEADERS },
	{ "ContentTooLarge", "The body is larger than 1 MiB (whatever the method)", RATE_HEADERS },
	{ "UriTooLong", "The request path and query are longer than the server reads", RATE_HEADERS },
	{ "UnsupportedMediaType", "The body is not of the media type the operation takes "
				  "(application/json unless it says otherwise)", RATE_HEADERS },
	{ "UnprocessableContent", "Validation failed; errors names each bad field", RATE_HEADERS },
	{ "TooManyRequests", "Too many attempts (logins), or over the caller's rate limit "
			     "(API key or signed-in user): wait Retry-After seconds",
	  "Retry-After " RATE_HEADERS },
	{ "ServiceUnavailable", "The database is busy, full or cannot be opened (with "
				"Retry-After when waiting helps); try again",
	  "Retry-After " RATE_HEADERS },
};

static json_t *error_responses(void)
{
	json_t *responses = json_object();
	for (size_t i = 0; i < sizeof(error_answers) / sizeof(error_answers[0]); i++) {
		json_t *response = json_pack("{s:s, s:{s:{s:o}}}", "description",
					     error_answers[i].description, "content",
					     "application/problem+json", "schema",
					     openapi_ref("schemas", "Problem"));
		if (error_answers[i].headers)
			json_object_set_new(response, "headers",
					    openapi_response_headers(error_answers[i].headers));
		json_object_set_new(responses, error_answers[i].name, response);
	}
	return responses;
}

static json_t *common_parameters(void)
{
	return json_pack(
		"{s:o, s:o, s:o, s:o, s:o}", "Limit", openapi_parameter(&(struct openapi_param)OPENAPI_LIMIT_PARAM),
		"Cursor", openapi_parameter(&(struct openapi_param)OPENAPI_CURSOR_PARAM), "IfMatch",
		openapi_parameter(&(struct openapi_param)OPENAPI_IF_MATCH_PARAM), "IfNoneMatch",
		json_pack("{s:s, s:s, s:b, s:{s:s}, s:s}", "name", "If-None-Match", "in", "header",
			  "required", 0, "schema", "type", "string", "description",
			  "An ETag from an earlier answer: 304 when it is still current."),
		"IdempotencyKey",
		json_pack("{s:s, s:s, s:b, s:{s:s, s:i, s:i}, s:s}", "name", "Idempotency-Key", "in",
			  "header", "required", 0, "schema", "type", "string", "minLength", 1,
			  "maxLength", RESOURCE_IDEMPOTENCY_KEY_MAX, "description",
			  "A repeat with the same key within 24 hours answers the first answer "
			  "again (Idempotent-Replayed: true) and creates nothing."));
}

static json_t *security_schemes(void)
{
	return json_pack(
		"{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s},"
		" s:{s:s, s:s, s:s, s:s}}",
		"bearerKey", "type", "http", "scheme", "bearer", "description",
		"An API key from crmctl key create; it acts as its user. A read-only key gets 403 "
		"on every write.",
		"sessionCookie", "type", "apiKey", "in", "cookie", "name", auth_session_cookie_name(),
		"description", "The browser session from POST /api/v1/auth/login.", "csrfToken",
		"type", "apiKey", "in", "header", "name", "X-CSRF-Token", "description",
		"The session's CSRF token (from login or /auth/me); needed with the cookie on "
		"POST, PUT, PATCH and DELETE.",
		"webhookSignature", "type", "apiKey", "in", "header", "name", "X-CRM-Signature",
		"description",
		"How a webhook receiver knows crmd sent a delivery: X-CRM-Signature is "
		"t=<unix time>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" keyed with the endpoint's "
		"secret>. Recompute it over the raw body, compare in constant time, and refuse a t "
		"far from now.");
}

/* Adds to `names` every "#/components/schemas/X" that `value` refers to. */
static void collect_schema_refs(const json_t *value, json_t *names)
{
	static const char prefix[] = "#/components/schemas/";
	if (json_is_object(value)) {
		const char *key;
		json_t *member;
		json_object_foreach((json_t *)value, key, member) {
			if (strcmp(key, "$ref") == 0 && json_is_string(member) &&
			    strncmp(json_string_value(member), prefix, sizeof(prefix) - 1) == 0)
				json_object_set_new(names,
						    json_string_value(member) + sizeof(prefix) - 1,
						    json_true());
			else
				collect_schema_refs(member, names);
		}
	} else if (json_is_array(value)) {
		size_t index;
		json_t *member;
		json_array_foreach(value, index, member)
			collect_schema_refs(member, names);
	}
}

/* Adds the hand-written schemas the document refers to, until nothing more is needed. */
void openapi_add_referenced_schemas(json_t *document, json_t *schemas)
{
	bool added = true;
	while (added) {
		added = false;
		json_t *names = json_object();
		collect_schema_refs(document, names);
		const char *name;
		json_t *unused;
		json_object_foreach(names, name, unused) {
			if (json_object_get(schemas, name))
				continue;
			for (size_t i = 0; i < COMPONENT_COUNT; i++) {
				if (strcmp(component_schemas[i].name, name) == 0) {
					json_object_set_new(schemas, name,
							    openapi_schema_from_text(component_schemas[i].schema));
					added = true;
				}
			}
		}
		json_decref(names);
	}
}

/* The tags used by the operations, described ones first. */
json_t *openapi_document_tags(const json_t *paths)
{
	json_t *used = json_object();
	const char *path;
	json_t *operations;
	json_object_foreach((json_t *)paths, path, operations) {
		const char *method;
		json_t *operation;
		json_object_foreach(operations, method, operation) {
			size_t index;
			json_t *tag;
			json_array_foreach(json_object_get(operation, "tags"), index, tag)
				json_object_set_new(used, json_string_value(tag), json_true());
		}
	}
	json_t *tags = json_array();
	for (size_t i = 0; i < sizeof(tag_descriptions) / sizeof(tag_descriptions[0]); i++) {
		if (!json_object_get(used, tag_descriptions[i].name))
			continue;
		json_array_append_new(tags, json_pack("{s:s, s:s}", "name", tag_descriptions[i].name,
						      "description", tag_descriptions[i].description));
		json_object_del(used, tag_descriptions[i].name);
	}
	const char *name;
	json_t *unused;
	json_object_foreach(used, name, unused) {
		const struct resource *resource = resource_find(name);
		json_array_append_new(tags, json_pack("{s:s, s:s*}", "name", name, "description",
						      resource ? resource->description : NULL));
	}
	json_decref(used);
	return tags;
}

json_t *openapi_components(json_t *schemas)
{
	return json_pack(
		"{s:O, s:o, s:o, s:o, s:o}", "schemas", schemas, "responses", error_responses(),
		"parameters", common_parameters(), "headers",
		headers_section(),
		"securitySchemes", security_schemes());
}
