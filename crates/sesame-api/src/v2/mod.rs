//! SES v2 handlers: the `SesV2Api` trait generated from sesv2.json, implemented by delegating
//! to one module per resource group. Operations not listed here keep the generated default,
//! a `NotImplementedException` naming the operation.

mod account;
mod configuration_sets;
mod contacts;
mod custom_verification;
mod dedicated_ips;
mod identities;
mod send;
mod suppression;
mod tags;
mod templates;

use async_trait::async_trait;
use sesame_awsproto::generated::sesv2::{self as w, SesV2Api};
use sesame_awsproto::ApiError;
use sesame_engine::Engine;

use crate::RequestCtx;

pub(crate) use identities::{dkim_for, from_wire_tags, put_dkim as put_dkim_attributes};
pub(crate) use send::merge_data;

pub struct SesV2 {
    pub engine: Engine,
}

type R<T> = Result<T, ApiError>;

#[async_trait]
impl SesV2Api for SesV2 {
    type Ctx = RequestCtx;

    // --- identities (spec D) ---
    async fn create_email_identity(
        &self,
        c: &RequestCtx,
        i: w::CreateEmailIdentityRequest,
    ) -> R<w::CreateEmailIdentityResponse> {
        identities::create(self, c, i).await
    }
    async fn get_email_identity(
        &self,
        c: &RequestCtx,
        i: w::GetEmailIdentityRequest,
    ) -> R<w::GetEmailIdentityResponse> {
        identities::get(self, c, i).await
    }
    async fn list_email_identities(
        &self,
        c: &RequestCtx,
        i: w::ListEmailIdentitiesRequest,
    ) -> R<w::ListEmailIdentitiesResponse> {
        identities::list(self, c, i).await
    }
    async fn delete_email_identity(
        &self,
        c: &RequestCtx,
        i: w::DeleteEmailIdentityRequest,
    ) -> R<w::DeleteEmailIdentityResponse> {
        identities::delete(self, c, i).await
    }
    async fn put_email_identity_dkim_attributes(
        &self,
        c: &RequestCtx,
        i: w::PutEmailIdentityDkimAttributesRequest,
    ) -> R<w::PutEmailIdentityDkimAttributesResponse> {
        identities::put_dkim(self, c, i).await
    }
    async fn put_email_identity_dkim_signing_attributes(
        &self,
        c: &RequestCtx,
        i: w::PutEmailIdentityDkimSigningAttributesRequest,
    ) -> R<w::PutEmailIdentityDkimSigningAttributesResponse> {
        identities::put_dkim_signing(self, c, i).await
    }
    async fn put_email_identity_mail_from_attributes(
        &self,
        c: &RequestCtx,
        i: w::PutEmailIdentityMailFromAttributesRequest,
    ) -> R<w::PutEmailIdentityMailFromAttributesResponse> {
        identities::put_mail_from(self, c, i).await
    }
    async fn put_email_identity_feedback_attributes(
        &self,
        c: &RequestCtx,
        i: w::PutEmailIdentityFeedbackAttributesRequest,
    ) -> R<w::PutEmailIdentityFeedbackAttributesResponse> {
        identities::put_feedback(self, c, i).await
    }
    async fn put_email_identity_configuration_set_attributes(
        &self,
        c: &RequestCtx,
        i: w::PutEmailIdentityConfigurationSetAttributesRequest,
    ) -> R<w::PutEmailIdentityConfigurationSetAttributesResponse> {
        identities::put_configuration_set(self, c, i).await
    }

    // --- sending (spec B) ---
    async fn send_email(&self, c: &RequestCtx, i: w::SendEmailRequest) -> R<w::SendEmailResponse> {
        send::send_email(self, c, i).await
    }
    async fn send_bulk_email(
        &self,
        c: &RequestCtx,
        i: w::SendBulkEmailRequest,
    ) -> R<w::SendBulkEmailResponse> {
        send::send_bulk_email(self, c, i).await
    }

    // --- account (spec A) ---
    async fn get_account(
        &self,
        c: &RequestCtx,
        i: w::GetAccountRequest,
    ) -> R<w::GetAccountResponse> {
        account::get(self, c, i).await
    }
    async fn put_account_details(
        &self,
        c: &RequestCtx,
        i: w::PutAccountDetailsRequest,
    ) -> R<w::PutAccountDetailsResponse> {
        account::put_details(self, c, i).await
    }
    async fn put_account_sending_attributes(
        &self,
        c: &RequestCtx,
        i: w::PutAccountSendingAttributesRequest,
    ) -> R<w::PutAccountSendingAttributesResponse> {
        account::put_sending(self, c, i).await
    }
    async fn put_account_suppression_attributes(
        &self,
        c: &RequestCtx,
        i: w::PutAccountSuppressionAttributesRequest,
    ) -> R<w::PutAccountSuppressionAttributesResponse> {
        account::put_suppression(self, c, i).await
    }

    // --- tags (Q-25) ---
    async fn tag_resource(
        &self,
        c: &RequestCtx,
        i: w::TagResourceRequest,
    ) -> R<w::TagResourceResponse> {
        tags::tag(self, c, i).await
    }
    async fn untag_resource(
        &self,
        c: &RequestCtx,
        i: w::UntagResourceRequest,
    ) -> R<w::UntagResourceResponse> {
        tags::untag(self, c, i).await
    }
    async fn list_tags_for_resource(
        &self,
        c: &RequestCtx,
        i: w::ListTagsForResourceRequest,
    ) -> R<w::ListTagsForResourceResponse> {
        tags::list(self, c, i).await
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
    async fn get_configuration_set(
        &self,
        c: &RequestCtx,
        i: w::GetConfigurationSetRequest,
    ) -> R<w::GetConfigurationSetResponse> {
        configuration_sets::get(self, c, i).await
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
    async fn put_configuration_set_delivery_options(
        &self,
        c: &RequestCtx,
        i: w::PutConfigurationSetDeliveryOptionsRequest,
    ) -> R<w::PutConfigurationSetDeliveryOptionsResponse> {
        configuration_sets::put_delivery(self, c, i).await
    }
    async fn put_configuration_set_reputation_options(
        &self,
        c: &RequestCtx,
        i: w::PutConfigurationSetReputationOptionsRequest,
    ) -> R<w::PutConfigurationSetReputationOptionsResponse> {
        configuration_sets::put_reputation(self, c, i).await
    }
    async fn put_configuration_set_sending_options(
        &self,
        c: &RequestCtx,
        i: w::PutConfigurationSetSendingOptionsRequest,
    ) -> R<w::PutConfigurationSetSendingOptionsResponse> {
        configuration_sets::put_sending(self, c, i).await
    }
    async fn put_configuration_set_suppression_options(
        &self,
        c: &RequestCtx,
        i: w::PutConfigurationSetSuppressionOptionsRequest,
    ) -> R<w::PutConfigurationSetSuppressionOptionsResponse> {
        configuration_sets::put_suppression(self, c, i).await
    }
    async fn put_configuration_set_tracking_options(
        &self,
        c: &RequestCtx,
        i: w::PutConfigurationSetTrackingOptionsRequest,
    ) -> R<w::PutConfigurationSetTrackingOptionsResponse> {
        configuration_sets::put_tracking(self, c, i).await
    }
    async fn put_configuration_set_vdm_options(
        &self,
        c: &RequestCtx,
        i: w::PutConfigurationSetVdmOptionsRequest,
    ) -> R<w::PutConfigurationSetVdmOptionsResponse> {
        configuration_sets::put_vdm(self, c, i).await
    }
    async fn put_configuration_set_archiving_options(
        &self,
        c: &RequestCtx,
        i: w::PutConfigurationSetArchivingOptionsRequest,
    ) -> R<w::PutConfigurationSetArchivingOptionsResponse> {
        configuration_sets::put_archiving(self, c, i).await
    }
    async fn create_configuration_set_event_destination(
        &self,
        c: &RequestCtx,
        i: w::CreateConfigurationSetEventDestinationRequest,
    ) -> R<w::CreateConfigurationSetEventDestinationResponse> {
        configuration_sets::create_destination(self, c, i).await
    }
    async fn get_configuration_set_event_destinations(
        &self,
        c: &RequestCtx,
        i: w::GetConfigurationSetEventDestinationsRequest,
    ) -> R<w::GetConfigurationSetEventDestinationsResponse> {
        configuration_sets::get_destinations(self, c, i).await
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

    // @@ templates and suppression (helper) @@

    // --- custom verification email templates (spec D-51..D-60, Q-101..Q-103) ---
    async fn create_custom_verification_email_template(
        &self,
        c: &RequestCtx,
        i: w::CreateCustomVerificationEmailTemplateRequest,
    ) -> R<w::CreateCustomVerificationEmailTemplateResponse> {
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
    ) -> R<w::UpdateCustomVerificationEmailTemplateResponse> {
        custom_verification::update(self, c, i).await
    }
    async fn delete_custom_verification_email_template(
        &self,
        c: &RequestCtx,
        i: w::DeleteCustomVerificationEmailTemplateRequest,
    ) -> R<w::DeleteCustomVerificationEmailTemplateResponse> {
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
    async fn create_email_template(
        &self,
        c: &RequestCtx,
        i: w::CreateEmailTemplateRequest,
    ) -> R<w::CreateEmailTemplateResponse> {
        templates::create(self, c, i).await
    }
    async fn get_email_template(
        &self,
        c: &RequestCtx,
        i: w::GetEmailTemplateRequest,
    ) -> R<w::GetEmailTemplateResponse> {
        templates::get(self, c, i).await
    }
    async fn list_email_templates(
        &self,
        c: &RequestCtx,
        i: w::ListEmailTemplatesRequest,
    ) -> R<w::ListEmailTemplatesResponse> {
        templates::list(self, c, i).await
    }
    async fn update_email_template(
        &self,
        c: &RequestCtx,
        i: w::UpdateEmailTemplateRequest,
    ) -> R<w::UpdateEmailTemplateResponse> {
        templates::update(self, c, i).await
    }
    async fn delete_email_template(
        &self,
        c: &RequestCtx,
        i: w::DeleteEmailTemplateRequest,
    ) -> R<w::DeleteEmailTemplateResponse> {
        templates::delete(self, c, i).await
    }
    async fn test_render_email_template(
        &self,
        c: &RequestCtx,
        i: w::TestRenderEmailTemplateRequest,
    ) -> R<w::TestRenderEmailTemplateResponse> {
        templates::test_render(self, c, i).await
    }

    // --- account-level suppression list (spec F, Q-190) ---
    async fn put_suppressed_destination(
        &self,
        c: &RequestCtx,
        i: w::PutSuppressedDestinationRequest,
    ) -> R<w::PutSuppressedDestinationResponse> {
        suppression::put(self, c, i).await
    }
    async fn get_suppressed_destination(
        &self,
        c: &RequestCtx,
        i: w::GetSuppressedDestinationRequest,
    ) -> R<w::GetSuppressedDestinationResponse> {
        suppression::get(self, c, i).await
    }
    async fn delete_suppressed_destination(
        &self,
        c: &RequestCtx,
        i: w::DeleteSuppressedDestinationRequest,
    ) -> R<w::DeleteSuppressedDestinationResponse> {
        suppression::delete(self, c, i).await
    }
    async fn list_suppressed_destinations(
        &self,
        c: &RequestCtx,
        i: w::ListSuppressedDestinationsRequest,
    ) -> R<w::ListSuppressedDestinationsResponse> {
        suppression::list(self, c, i).await
    }

    // --- contact lists and contacts (spec F-166..F-176, Q-195..Q-197) ---
    async fn create_contact_list(
        &self,
        c: &RequestCtx,
        i: w::CreateContactListRequest,
    ) -> R<w::CreateContactListResponse> {
        contacts::create_list(self, c, i).await
    }
    async fn get_contact_list(
        &self,
        c: &RequestCtx,
        i: w::GetContactListRequest,
    ) -> R<w::GetContactListResponse> {
        contacts::get_list(self, c, i).await
    }
    async fn update_contact_list(
        &self,
        c: &RequestCtx,
        i: w::UpdateContactListRequest,
    ) -> R<w::UpdateContactListResponse> {
        contacts::update_list(self, c, i).await
    }
    async fn delete_contact_list(
        &self,
        c: &RequestCtx,
        i: w::DeleteContactListRequest,
    ) -> R<w::DeleteContactListResponse> {
        contacts::delete_list(self, c, i).await
    }
    async fn list_contact_lists(
        &self,
        c: &RequestCtx,
        i: w::ListContactListsRequest,
    ) -> R<w::ListContactListsResponse> {
        contacts::list_lists(self, c, i).await
    }
    async fn create_contact(
        &self,
        c: &RequestCtx,
        i: w::CreateContactRequest,
    ) -> R<w::CreateContactResponse> {
        contacts::create_contact(self, c, i).await
    }
    async fn get_contact(
        &self,
        c: &RequestCtx,
        i: w::GetContactRequest,
    ) -> R<w::GetContactResponse> {
        contacts::get_contact(self, c, i).await
    }
    async fn update_contact(
        &self,
        c: &RequestCtx,
        i: w::UpdateContactRequest,
    ) -> R<w::UpdateContactResponse> {
        contacts::update_contact(self, c, i).await
    }
    async fn delete_contact(
        &self,
        c: &RequestCtx,
        i: w::DeleteContactRequest,
    ) -> R<w::DeleteContactResponse> {
        contacts::delete_contact(self, c, i).await
    }
    async fn list_contacts(
        &self,
        c: &RequestCtx,
        i: w::ListContactsRequest,
    ) -> R<w::ListContactsResponse> {
        contacts::list_contacts(self, c, i).await
    }

    // --- dedicated IPs, pools and warm-up (spec F-54..F-64, Q-130..Q-133) ---
    async fn create_dedicated_ip_pool(
        &self,
        c: &RequestCtx,
        i: w::CreateDedicatedIpPoolRequest,
    ) -> R<w::CreateDedicatedIpPoolResponse> {
        dedicated_ips::create_pool(self, c, i).await
    }
    async fn get_dedicated_ip_pool(
        &self,
        c: &RequestCtx,
        i: w::GetDedicatedIpPoolRequest,
    ) -> R<w::GetDedicatedIpPoolResponse> {
        dedicated_ips::get_pool(self, c, i).await
    }
    async fn list_dedicated_ip_pools(
        &self,
        c: &RequestCtx,
        i: w::ListDedicatedIpPoolsRequest,
    ) -> R<w::ListDedicatedIpPoolsResponse> {
        dedicated_ips::list_pools(self, c, i).await
    }
    async fn delete_dedicated_ip_pool(
        &self,
        c: &RequestCtx,
        i: w::DeleteDedicatedIpPoolRequest,
    ) -> R<w::DeleteDedicatedIpPoolResponse> {
        dedicated_ips::delete_pool(self, c, i).await
    }
    async fn put_dedicated_ip_pool_scaling_attributes(
        &self,
        c: &RequestCtx,
        i: w::PutDedicatedIpPoolScalingAttributesRequest,
    ) -> R<w::PutDedicatedIpPoolScalingAttributesResponse> {
        dedicated_ips::put_pool_scaling(self, c, i).await
    }
    async fn get_dedicated_ip(
        &self,
        c: &RequestCtx,
        i: w::GetDedicatedIpRequest,
    ) -> R<w::GetDedicatedIpResponse> {
        dedicated_ips::get_ip(self, c, i).await
    }
    async fn get_dedicated_ips(
        &self,
        c: &RequestCtx,
        i: w::GetDedicatedIpsRequest,
    ) -> R<w::GetDedicatedIpsResponse> {
        dedicated_ips::get_ips(self, c, i).await
    }
    async fn put_dedicated_ip_in_pool(
        &self,
        c: &RequestCtx,
        i: w::PutDedicatedIpInPoolRequest,
    ) -> R<w::PutDedicatedIpInPoolResponse> {
        dedicated_ips::put_ip_in_pool(self, c, i).await
    }
    async fn put_dedicated_ip_warmup_attributes(
        &self,
        c: &RequestCtx,
        i: w::PutDedicatedIpWarmupAttributesRequest,
    ) -> R<w::PutDedicatedIpWarmupAttributesResponse> {
        dedicated_ips::put_ip_warmup(self, c, i).await
    }
    async fn put_account_dedicated_ip_warmup_attributes(
        &self,
        c: &RequestCtx,
        i: w::PutAccountDedicatedIpWarmupAttributesRequest,
    ) -> R<w::PutAccountDedicatedIpWarmupAttributesResponse> {
        dedicated_ips::put_account_warmup(self, c, i).await
    }
}
