@acceptance @download_all @faults
Feature: Documented product defects the harness reproduces
  Some failures come from product defects that were fixed later. Reproducing them lets a QA team show a
  regression suite would have caught them, and tell them apart from configuration mistakes.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100250 references these packages:
      | package  | name                     | type               | size   |
      | PS100251 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |
      | Upgrade Operating System | Upgrade Operating System | PS100251 | 40 minutes |
    And the packages are distributed to the CMG
    And an internet client CLIENT71

  @behaviour:B-10 @behaviour:B-32 @behaviour:B-56
  Scenario: 1906 and 1910 early ring: a CMG enforcing TLS 1.2 answers content requests with 400
    Given the site runs Configuration Manager version 1906
    And the CMG has the TLS 1.2 content download defect of 1906 and 1910 early ring
    And the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence does not start and fails with 0x87D0027E
    And the client's DataTransferService.log says "Error retrieving manifest (0x87d0027e)."
    And the client's DataTransferService.log says "Error sending DAV request. HTTP code 400, status 'Bad Request'"
