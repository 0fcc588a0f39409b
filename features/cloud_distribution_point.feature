@acceptance @download_all
Feature: Content from a classic cloud distribution point
  Since 1802 an in-place upgrade over the CMG could take its content from a cloud distribution
  point, downloaded in full before the start; from 2107 no new traditional cloud DP can be created,
  but one created earlier keeps serving content.

  Background:
    Given the in-place upgrade task sequence PS100140 references these packages:
      | package  | name                     | type               | size   |
      | PS100141 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |
      | Upgrade Operating System | Upgrade Operating System | PS100141 | 40 minutes |
    And an internet client CLIENT21

  @matrix:ipu_via_cmg
  @behaviour:B-01 @behaviour:B-05 @behaviour:B-25
  Scenario Outline: An in-place upgrade over the CMG with all content from a cloud DP first (<version>)
    Given a cloud distribution point created on site version 1802
    And the site runs Configuration Manager version <version>
    And the packages are distributed to the cloud distribution point
    And the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from the cloud distribution point before the first step starts

    Examples:
      | version |
      | 1802    |
      | 1806    |
      | 1810    |
      | 1902    |
      | 1906    |
      | 1910    |
      | 2002    |
      | 2006    |
      | 2010    |
      | 2107    |

  @matrix:new_classic_cloud_dp
  @behaviour:B-05
  Scenario Outline: Creating a traditional cloud distribution point on version <version>
    Given the site runs Configuration Manager version <version>
    When the administrator creates a cloud distribution point
    Then <outcome>

    Examples:
      | version | outcome                                                                   |
      | 1802    | the site creates it                                                       |
      | 1806    | the site creates it                                                       |
      | 1810    | the site creates it                                                       |
      | 1902    | the site creates it                                                       |
      | 1906    | the site creates it                                                       |
      | 1910    | the site creates it                                                       |
      | 2002    | the site creates it                                                       |
      | 2006    | the site creates it                                                       |
      | 2010    | the site creates it                                                       |
      | 2107    | the site refuses to create it because "use a content-enabled CMG"         |

  @behaviour:B-04 @behaviour:B-24
  Scenario: The task sequence engine downloads on demand from a cloud DP from 1910
    Given a cloud distribution point created on site version 1910
    And the packages are distributed to the cloud distribution point
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And each package is downloaded from the cloud distribution point just before the step that needs it

  @behaviour:B-23 @behaviour:B-32
  Scenario: A stopped cloud DP is still offered as a content source, but serves no content
    Given a cloud distribution point created on site version 2010
    And the packages are distributed to the cloud distribution point
    And the cloud distribution point is stopped
    And the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence does not start and fails with 0x87D0027E
    And the content location reply for PS100141 lists the cloud distribution point
    And the cloud distribution point refused every content request
