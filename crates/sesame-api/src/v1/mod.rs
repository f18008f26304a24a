//! SES v1 handlers: the `SesV1Api` trait generated from ses.json, implemented by delegating to
//! one module per resource group. Operations not listed keep the generated default, a
//! `NotImplemented` error naming the operation.

mod account;
mod configuration_sets;
mod custom_verification;
mod identities;
mod send;
mod templates;

use async_trait::async_trait;
use sesame_awsproto::generated::ses::{self as w, SesV1Api};
use sesame_awsproto::ApiError;
use sesame_engine::Engine;

use crate::RequestCtx;

pub struct SesV1 {
    pub engine: Engine,
}

type R<T> = Result<T, ApiError>;

#[async_trait]
impl SesV1Api for SesV1 {
    type Ctx = RequestCtx;

    // --- identities (spec D) ---
    async fn verify_email_identity(
        &self,
        c: &RequestCtx,
        i: w::VerifyEmailIdentityRequest,
    ) -> R<w::VerifyEmailIdentityResponse> {
        identities::verify_email_identity(self, c, &i.email_address).await?;
        Ok(w::VerifyEmailIdentityResponse {})
    }
    /// deprecated alias of VerifyEmailIdentity.
    async fn verify_email_address(&self, c: &RequestCtx, i: w::VerifyEmailAddressRequest) -> R<()> {
        identities::verify_email_identity(self, c, &i.email_address).await
    }
    async fn verify_domain_identity(
        &self,
        c: &RequestCtx,
        i: w::VerifyDomainIdentityRequest,
    ) -> R<w::VerifyDomainIdentityResponse> {
        identities::verify_domain_identity(self, c, i).await
    }
    async fn verify_domain_dkim(
        &self,
        c: &RequestCtx,
        i: w::VerifyDomainDkimRequest,
    ) -> R<w::VerifyDomainDkimResponse> {
        identities::verify_domain_dkim(self, c, i).await
    }
    async fn list_identities(
        &self,
        c: &RequestCtx,
        i: w::ListIdentitiesRequest,
    ) -> R<w::ListIdentitiesResponse> {
        identities::list_identities(self, c, i).await
    }
    async fn list_verified_email_addresses(
        &self,
        c: &RequestCtx,
        _i: (),
    ) -> R<w::ListVerifiedEmailAddressesResponse> {
        identities::list_verified_email_addresses(self, c).await
    }
    async fn get_identity_verification_attributes(
        &self,
        c: &RequestCtx,
        i: w::GetIdentityVerificationAttributesRequest,
    ) -> R<w::GetIdentityVerificationAttributesResponse> {
        identities::get_verification_attributes(self, c, i).await
    }
    async fn get_identity_dkim_attributes(
        &self,
        c: &RequestCtx,
        i: w::GetIdentityDkimAttributesRequest,
    ) -> R<w::GetIdentityDkimAttributesResponse> {
        identities::get_dkim_attributes(self, c, i).await
    }
    async fn get_identity_mail_from_domain_attributes(
        &self,
        c: &RequestCtx,
        i: w::GetIdentityMailFromDomainAttributesRequest,
    ) -> R<w::GetIdentityMailFromDomainAttributesResponse> {
        identities::get_mail_from_attributes(self, c, i).await
    }
    async fn get_identity_notification_attributes(
        &self,
        c: &RequestCtx,
        i: w::GetIdentityNotificationAttributesRequest,
    ) -> R<w::GetIdentityNotificationAttributesResponse> {
        identities::get_notification_attributes(self, c, i).await
    }
    async fn set_identity_dkim_enabled(
        &self,
        c: &RequestCtx,
        i: w::SetIdentityDkimEnabledRequest,
    ) -> R<w::SetIdentityDkimEnabledResponse> {
        identities::set_dkim_enabled(self, c, i).await?;
        Ok(w::SetIdentityDkimEnabledResponse {})
    }
    async fn set_identity_mail_from_domain(
        &self,
        c: &RequestCtx,
        i: w::SetIdentityMailFromDomainRequest,
    ) -> R<w::SetIdentityMailFromDomainResponse> {
        identities::set_mail_from(self, c, i).await?;
        Ok(w::SetIdentityMailFromDomainResponse {})
    }
    async fn set_identity_feedback_forwarding_enabled(
        &self,
        c: &RequestCtx,
        i: w::SetIdentityFeedbackForwardingEnabledRequest,
    ) -> R<w::SetIdentityFeedbackForwardingEnabledResponse> {
        identities::set_feedback_forwarding(self, c, i).await?;
        Ok(w::SetIdentityFeedbackForwardingEnabledResponse {})
    }
    async fn set_identity_headers_in_notifications_enabled(
        &self,
        c: &RequestCtx,
        i: w::SetIdentityHeadersInNotificationsEnabledRequest,
    ) -> R<w::SetIdentityHeadersInNotificationsEnabledResponse> {
        identities::set_headers_in_notifications(self, c, i).await?;
        Ok(w::SetIdentityHeadersInNotificationsEnabledResponse {})
    }
    async fn set_identity_notification_topic(
        &self,
        c: &RequestCtx,
        i: w::SetIdentityNotificationTopicRequest,
    ) -> R<w::SetIdentityNotificationTopicResponse> {
        identities::set_notification_topic(self, c, i).await?;
        Ok(w::SetIdentityNotificationTopicResponse {})
    }
    async fn delete_identity(
        &self,
        c: &RequestCtx,
        i: w::DeleteIdentityRequest,
    ) -> R<w::DeleteIdentityResponse> {
        identities::delete_identity(self, c, &i.identity).await?;
        Ok(w::DeleteIdentityResponse {})
    }
    /// deprecated alias of DeleteIdentity.
    async fn delete_verified_email_address(
        &self,
        c: &RequestCtx,
        i: w::DeleteVerifiedEmailAddressRequest,
    ) -> R<()> {
        identities::delete_identity(self, c, &i.email_address).await
    }

    // --- sending (spec B) ---
    async fn send_email(&self, c: &RequestCtx, i: w::SendEmailRequest) -> R<w::SendEmailResponse> {
        send::send_email(self, c, i).await
    }
    async fn send_raw_email(
        &self,
        c: &RequestCtx,
        i: w::SendRawEmailRequest,
    ) -> R<w::SendRawEmailResponse> {
        send::send_raw_email(self, c, i).await
    }
    async fn send_templated_email(
        &self,
        c: &RequestCtx,
        i: w::SendTemplatedEmailRequest,
    ) -> R<w::SendTemplatedEmailResponse> {
        send::send_templated_email(self, c, i).await
    }
    async fn send_bulk_templated_email(
        &self,
        c: &RequestCtx,
        i: w::SendBulkTemplatedEmailRequest,
    ) -> R<w::SendBulkTemplatedEmailResponse> {
        send::send_bulk_templated_email(self, c, i).await
    }

    // --- account (spec A) ---
    async fn get_send_quota(&self, c: &RequestCtx, _i: ()) -> R<w::GetSendQuotaResponse> {
        account::get_send_quota(self, c).await
    }
    async fn get_send_statistics(&self, c: &RequestCtx, _i: ()) -> R<w::GetSendStatisticsResponse> {
        account::get_send_statistics(self, c).await
    }
    async fn get_account_sending_enabled(
        &self,
        c: &RequestCtx,
        _i: (),
    ) -> R<w::GetAccountSendingEnabledResponse> {
        account::get_sending_enabled(self, c).await
    }
    async fn update_account_sending_enabled(
        &self,
        c: &RequestCtx,
        i: w::UpdateAccountSendingEnabledRequest,
    ) -> R<()> {
        account::update_sending_enabled(self, c, i).await
    }

    // @@ configuration sets (helper) @@
    // --- configuration sets and event destinations (spec E-93..E-126) ---
    async fn create_configuration_set(
        &self,
        c: &RequestCtx,
        i: w::CreateConfigurationSetRequest,
    ) -> R<w::CreateConfigurationSetResponse> {
        configuration_sets::create(self, c, i).await
    }
    async fn describe_configuration_set(
        &self,
        c: &RequestCtx,
        i: w::DescribeConfigurationSetRequest,
    ) -> R<w::DescribeConfigurationSetResponse> {
        configuration_sets::describe(self, c, i).await
    }
    async fn list_configuration_sets(
        &self,
        c: &RequestCtx,
        i: w::ListConfigurationSetsRequest,
    ) -> R<w::ListConfigurationSetsResponse> {
        configuration_sets::list(self, c, i).await
    }
    async fn delete_configuration_set(
        &self,
        c: &RequestCtx,
        i: w::DeleteConfigurationSetRequest,
    ) -> R<w::DeleteConfigurationSetResponse> {
        configuration_sets::delete(self, c, i).await
    }
    async fn update_configuration_set_sending_enabled(
        &self,
        c: &RequestCtx,
        i: w::UpdateConfigurationSetSendingEnabledRequest,
    ) -> R<()> {
        configuration_sets::update_sending_enabled(self, c, i).await
    }
    async fn update_configuration_set_reputation_metrics_enabled(
        &self,
        c: &RequestCtx,
        i: w::UpdateConfigurationSetReputationMetricsEnabledRequest,
    ) -> R<()> {
        configuration_sets::update_reputation_metrics_enabled(self, c, i).await
    }
    async fn put_configuration_set_delivery_options(
        &self,
        c: &RequestCtx,
        i: w::PutConfigurationSetDeliveryOptionsRequest,
    ) -> R<w::PutConfigurationSetDeliveryOptionsResponse> {
        configuration_sets::put_delivery(self, c, i).await
    }
    async fn create_configuration_set_tracking_options(
        &self,
        c: &RequestCtx,
        i: w::CreateConfigurationSetTrackingOptionsRequest,
    ) -> R<w::CreateConfigurationSetTrackingOptionsResponse> {
        configuration_sets::create_tracking(self, c, i).await
    }
    async fn update_configuration_set_tracking_options(
        &self,
        c: &RequestCtx,
        i: w::UpdateConfigurationSetTrackingOptionsRequest,
    ) -> R<w::UpdateConfigurationSetTrackingOptionsResponse> {
        configuration_sets::update_tracking(self, c, i).await
    }
    async fn delete_configuration_set_tracking_options(
        &self,
        c: &RequestCtx,
        i: w::DeleteConfigurationSetTrackingOptionsRequest,
    ) -> R<w::DeleteConfigurationSetTrackingOptionsResponse> {
        configuration_sets::delete_tracking(self, c, i).await
    }
    async fn create_configuration_set_event_destination(
        &self,
        c: &RequestCtx,
        i: w::CreateConfigurationSetEventDestinationRequest,
    ) -> R<w::CreateConfigurationSetEventDestinationResponse> {
        configuration_sets::create_destination(self, c, i).await
    }
    async fn update_configuration_set_event_destination(
        &self,
        c: &RequestCtx,
        i: w::UpdateConfigurationSetEventDestinationRequest,
    ) -> R<w::UpdateConfigurationSetEventDestinationResponse> {
        configuration_sets::update_destination(self, c, i).await
    }
    async fn delete_configuration_set_event_destination(
        &self,
        c: &RequestCtx,
        i: w::DeleteConfigurationSetEventDestinationRequest,
    ) -> R<w::DeleteConfigurationSetEventDestinationResponse> {
        configuration_sets::delete_destination(self, c, i).await
    }

    // @@ templates (helper) @@

    // --- custom verification email templates (spec D-51..D-60, Q-101..Q-103) ---
    async fn create_custom_verification_email_template(
        &self,
        c: &RequestCtx,
        i: w::CreateCustomVerificationEmailTemplateRequest,
    ) -> R<()> {
        custom_verification::create(self, c, i).await
    }
    async fn get_custom_verification_email_template(
        &self,
        c: &RequestCtx,
        i: w::GetCustomVerificationEmailTemplateRequest,
    ) -> R<w::GetCustomVerificationEmailTemplateResponse> {
        custom_verification::get(self, c, i).await
    }
    async fn list_custom_verification_email_templates(
        &self,
        c: &RequestCtx,
        i: w::ListCustomVerificationEmailTemplatesRequest,
    ) -> R<w::ListCustomVerificationEmailTemplatesResponse> {
        custom_verification::list(self, c, i).await
    }
    async fn update_custom_verification_email_template(
        &self,
        c: &RequestCtx,
        i: w::UpdateCustomVerificationEmailTemplateRequest,
    ) -> R<()> {
        custom_verification::update(self, c, i).await
    }
    async fn delete_custom_verification_email_template(
        &self,
        c: &RequestCtx,
        i: w::DeleteCustomVerificationEmailTemplateRequest,
    ) -> R<()> {
        custom_verification::delete(self, c, i).await
    }
    async fn send_custom_verification_email(
        &self,
        c: &RequestCtx,
        i: w::SendCustomVerificationEmailRequest,
    ) -> R<w::SendCustomVerificationEmailResponse> {
        custom_verification::send(self, c, i).await
    }
    // --- templates (spec B, Q-117..Q-121) ---
    async fn create_template(
        &self,
        c: &RequestCtx,
        i: w::CreateTemplateRequest,
    ) -> R<w::CreateTemplateResponse> {
        templates::create(self, c, i).await
    }
    async fn get_template(
        &self,
        c: &RequestCtx,
        i: w::GetTemplateRequest,
    ) -> R<w::GetTemplateResponse> {
        templates::get(self, c, i).await
    }
    async fn list_templates(
        &self,
        c: &RequestCtx,
        i: w::ListTemplatesRequest,
    ) -> R<w::ListTemplatesResponse> {
        templates::list(self, c, i).await
    }
    async fn update_template(
        &self,
        c: &RequestCtx,
        i: w::UpdateTemplateRequest,
    ) -> R<w::UpdateTemplateResponse> {
        templates::update(self, c, i).await
    }
    async fn delete_template(
        &self,
        c: &RequestCtx,
        i: w::DeleteTemplateRequest,
    ) -> R<w::DeleteTemplateResponse> {
        templates::delete(self, c, i).await
    }
    async fn test_render_template(
        &self,
        c: &RequestCtx,
        i: w::TestRenderTemplateRequest,
    ) -> R<w::TestRenderTemplateResponse> {
        templates::test_render(self, c, i).await
    }
}
