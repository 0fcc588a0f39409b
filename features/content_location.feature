@acceptance @fallback
Feature: Where the task sequence finds its content
  The management point returns only the content locations a client may use: cloud sources that
  hold the package for internet clients allowed to use them, the on-premises DP for intranet clients.

  Background:
    Given the site runs Configuration Manager version 1910
    And the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100040 references these packages:
      | package  | name                     | type               | size   |
      | PS100041 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |
      | Upgrade Operating System | Upgrade Operating System | PS100041 | 40 minutes |
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"

  @behaviour:B-14 @behaviour:B-16
  Scenario: A package on no cloud source has no location for an internet client
    Given the packages are distributed to the on-premises distribution point only
    And an internet client CLIENT04
    When the user installs the deployment from Software Center
    Then the content location reply for PS100041 has no locations
    And the task sequence fails at step "Upgrade Operating System" with 0x80040102

  @behaviour:B-13 @behaviour:B-14
  Scenario: A client not allowed to use cloud distribution points gets no cloud location
    Given the packages are distributed to the CMG
    And an internet client CLIENT05 with client setting "Allow access to cloud distribution point" set to No
    When the user installs the deployment from Software Center
    Then the content location reply for PS100041 has no locations
    And the task sequence fails at step "Upgrade Operating System" with 0x80040102

  @behaviour:B-15
  Scenario: An intranet client gets its content from the on-premises distribution point
    Given the packages are distributed to the CMG and the on-premises distribution point
    And an intranet client CLIENT06
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from the on-premises distribution point
    And the client never contacted the CMG

  @behaviour:B-03 @behaviour:B-14
  Scenario: A CMG that does not serve content from Azure storage is never a content location
    Given the packages are distributed to the CMG
    And the CMG does not serve content from Azure storage
    And an internet client CLIENT25
    When the user installs the deployment from Software Center
    Then the content location reply for PS100041 has no locations
    And the task sequence fails at step "Upgrade Operating System" with 0x80040102
    And no content is downloaded

  @behaviour:B-09 @behaviour:B-56
  Scenario: Before 1902 a CMG with a third-party certificate fails the certificate name check
    Given the site runs Configuration Manager version 1810
    And the CMG uses a third-party server certificate
    And the packages are distributed to the CMG
    And the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    And an internet client CLIENT26
    When the user installs the deployment from Software Center
    Then the task sequence does not start and fails with 0x80072F8F
    And the client's DataTransferService.log says "WINHTTP_CALLBACK_STATUS_FLAG_CERT_CN_INVALID is set"

  @behaviour:B-09 @behaviour:B-25
  Scenario: From 1902 the same CMG is reached by its service name
    Given the site runs Configuration Manager version 1902
    And the CMG uses a third-party server certificate
    And the packages are distributed to the CMG
    And the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    And an internet client CLIENT27
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from the CMG before the first step starts
